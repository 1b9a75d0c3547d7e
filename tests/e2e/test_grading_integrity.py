"""Grades an instructor can trust, tried the way a student who wants the points without the
work would, on a real stack (chapter 01: bob's web1, worked through honestly). Each attack
used to earn full marks (6/6, the patched grader even with no machine running); now the
live-stack points come from the instructor's side, on the instructor's record of each
student's stack, whatever the notebook or its descriptor says."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from tests.e2e.coursework import grade, instructors_record, work_through
from workshop.live_scores import descriptor_mismatch
from workshop.providers import get_provider

CHAPTER = "01-getting-started"
NOTEBOOK = "first-vm.ipynb"
FULL_MARKS = 6
PATCH = "import grader\ngrader.assert_checks = lambda *a, **k: []\nos_name = 'Windows 95'\n"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bobs_folder(tmp_path_factory, stack_name):
    """Chapter 01 worked through honestly on this module's stack (bob's, as the instructor records it)."""
    folder = tmp_path_factory.mktemp("bob") / CHAPTER
    work_through(CHAPTER, folder)
    return folder


def patched(folder, into):
    """A copy of `folder` whose answer cells patch the grader and claim a wrong os_name."""
    shutil.copytree(folder, into)
    notebook = nbformat.read(into / NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = PATCH
    nbformat.write(notebook, into / NOTEBOOK)
    return into


def feedback_of(course, student: str) -> str:
    return (course.feedback(CHAPTER, student) / NOTEBOOK.replace(".ipynb", ".html")).read_text()


def test_the_honest_submission_gets_full_marks(course, bobs_folder):
    assert grade(course, CHAPTER, "bob", bobs_folder, instructors_record()) == (FULL_MARKS, FULL_MARKS)


def test_a_notebook_that_patches_the_grader_gets_only_what_the_stack_shows(course, bobs_folder, tmp_path):
    cheat = patched(bobs_folder, tmp_path / "cheat")
    assert grade(course, CHAPTER, "bob", cheat, instructors_record()) == (4, FULL_MARKS)  # web1 is up; no answer given
    assert "printed no answers for the instructor" in feedback_of(course, "bob")


def test_another_students_folder_and_descriptor_earn_nothing_and_are_flagged(course, bobs_folder):
    assert grade(course, CHAPTER, "mallory", bobs_folder, None) == (0, FULL_MARKS)
    note = descriptor_mismatch(course.root / "submitted" / "mallory" / CHAPTER, None)
    assert f"names stack {instructors_record().name!r}" in note and "no record of this student's stack" in note


def test_with_the_machine_stopped_the_patched_grader_gets_zero(course, bobs_folder, tmp_path, stack_name):
    stack = instructors_record()
    get_provider(stack.provider).stop(stack, "web1")
    assert grade(course, CHAPTER, "bob", patched(bobs_folder, tmp_path / "cheat"), stack) == (0, FULL_MARKS)
    assert "[FAIL] web1 is running" in feedback_of(course, "bob")
