"""Every cell of every lesson notebook runs, on a real stack of its own."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT, execute_notebook

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_cell_of_the_lesson_runs(lesson, tmp_path, stack_name):
    copy = tmp_path / lesson.name
    shutil.copy(lesson, copy)
    execute_notebook(copy)  # raises CellExecutionError, with the cell and its traceback, if any cell fails
