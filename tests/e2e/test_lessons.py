"""Every cell of every lesson notebook runs, on a real stack of its own, and its last cell
draws that stack (lab.diagram()) as an image; lesson 10 plots the stages recorded beside it."""

from __future__ import annotations

import base64
import shutil

import pytest

from tests.conftest import ROOT, execute_notebook
from tests.unit.record_samples import load_test
from workshop.records import RecordFolders

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The stages recorded beside a lesson before it runs, as a student's exercises leave them.
RECORDED = {"10-final-load-test": {"02-baseline": 280.0, "05-load-balancing": 410.0, "09-varnish": 5200.0}}

pytestmark = pytest.mark.e2e


def pictures(cell) -> list[bytes]:
    """The PNG images a cell displayed."""
    return [base64.b64decode(output["data"]["image/png"]) for output in cell.outputs
            if "image/png" in output.get("data", {})]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_cell_of_the_lesson_runs(lesson, tmp_path, stack_name):
    copy = tmp_path / lesson.name
    shutil.copy(lesson, copy)
    for stage, throughput in RECORDED.get(lesson.stem, {}).items():
        RecordFolders(tmp_path, None).save(load_test(stack=stack_name, stage=stage, throughput_rps=throughput))
    notebook = execute_notebook(copy)  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    drawn = [output for output in notebook.cells[-1].outputs if "image/png" in output.get("data", {})]
    assert "lab.diagram()" in notebook.cells[-1].source and len(drawn) == 1, notebook.cells[-1].outputs
    assert base64.b64decode(drawn[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert f"Stack {stack_name}: " in drawn[0]["data"]["text/plain"]
    if lesson.stem in RECORDED:
        [plotted] = [cell for cell in notebook.cells if "loadtest.plot(" in cell.source]
        printed = "".join(output.get("text", "") for output in plotted.outputs)
        assert all(stage in printed for stage in RECORDED[lesson.stem]), printed
        assert [picture[:4] for picture in pictures(plotted)] == [b"\x89PNG"], plotted.outputs
