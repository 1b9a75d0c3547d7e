"""The whole course on one stack, as one student does it: every exercise's solution,
chapter after chapter from an empty stack, then one submission per chapter
autograded to full marks; the unmodified releases autograde to zero."""

from __future__ import annotations

import time

import pytest

from tests.e2e.coursework import grade, grade_unmodified_release, max_points, work_through
from workshop.chapters import chapter_ids
from workshop.course import Course

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def submission(stack_name, tmp_path_factory):
    """Each chapter's folder after working through its solutions, in course order."""
    root = tmp_path_factory.mktemp("alice")
    started = time.monotonic()
    for chapter in chapter_ids():
        work_through(chapter, root / chapter)
    print(f"\nworked through {len(chapter_ids())} chapters in {time.monotonic() - started:.0f} s")
    return root


def test_the_whole_submission_autogrades_to_full_marks(submission, tmp_path):
    course = Course(tmp_path / "course")
    course.release()
    started = time.monotonic()
    scores = {chapter: grade(course, chapter, "alice", submission / chapter) for chapter in chapter_ids()}
    print(f"\nautograded the whole submission in {time.monotonic() - started:.0f} s")
    assert scores == {chapter: (max_points(chapter), max_points(chapter)) for chapter in chapter_ids()}


def test_the_unmodified_releases_autograde_to_zero(tmp_path):
    course = Course(tmp_path / "course")
    course.release()
    for chapter in chapter_ids():
        score, feedback = grade_unmodified_release(course, chapter, tmp_path)
        assert score == (0, max_points(chapter)) and "no stack found" in feedback, chapter
