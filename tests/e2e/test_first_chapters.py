"""Chapters 01-05 as a student with Docker works them: every chapter's solution notebooks
run one after the other on one docker stack of its own, with no catch-up between them,
and the five folders autograded to full marks on the instructor's record of that stack.

On podman the chapter modules do this and much more on their shared stack; this module
runs only on the other engines WORKSHOP_E2E_ENGINES names (`make test` names docker), to
prove the student's path, the course's deploys and the grader's probes work there too.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.coursework import assert_every_report_full_marks, instructors_record, max_points, work_through
from workshop.chapters import chapter_ids
from workshop.classroom.autograde import GRADED, grade_class
from workshop.course import Course

pytestmark = pytest.mark.e2e
CHAPTERS = chapter_ids()[:5]


@pytest.fixture(scope="module")
def submission(stack_name, engine, tmp_path_factory) -> dict:
    """{chapter: folder}: chapters 01-05 worked through in one student's course folder."""
    started, course_folder = time.monotonic(), tmp_path_factory.mktemp("alice")
    for chapter in CHAPTERS:
        assert_every_report_full_marks(chapter, work_through(chapter, course_folder / chapter))
    print(f"\nworked through chapters 01-05 on {engine} in {time.monotonic() - started:.0f} s")
    return {chapter: course_folder / chapter for chapter in CHAPTERS}


def test_chapters_01_to_05_autograde_to_full_marks(submission, tmp_path):
    course = Course(tmp_path / "course")
    course.release(CHAPTERS)
    for chapter, folder in submission.items():
        course.submit(chapter, "alice", folder)
    grades = grade_class(course, CHAPTERS, ["alice"], workers=2, records={"alice": instructors_record().path})
    assert {g.assignment: (g.status, g.score, g.max_score) for g in grades} == \
        {chapter: (GRADED, max_points(chapter), max_points(chapter)) for chapter in CHAPTERS}, \
        "\n".join(f"{g.assignment}: {g.score}/{g.max_score} {g.detail}" for g in grades)
