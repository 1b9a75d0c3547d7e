"""Every cell of every lesson notebook runs, on a real stack of its own, and its last cell
draws that stack (lab.diagram()) as an image."""

from __future__ import annotations

import base64
import shutil

import pytest

from tests.conftest import ROOT, execute_notebook

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_cell_of_the_lesson_runs(lesson, tmp_path, stack_name):
    copy = tmp_path / lesson.name
    shutil.copy(lesson, copy)
    notebook = execute_notebook(copy)  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    drawn = [output for output in notebook.cells[-1].outputs if "image/png" in output.get("data", {})]
    assert "lab.diagram()" in notebook.cells[-1].source and len(drawn) == 1, notebook.cells[-1].outputs
    assert base64.b64decode(drawn[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert f"Stack {stack_name}: " in drawn[0]["data"]["text/plain"]
