"""The whole course on one stack, as one student does it: every chapter's folder,
worked through on the shared course stack, autograded at the end, when the stack has
been through every later chapter (and their broken-stack tests), to full marks; the
unmodified releases autograde to zero.

In a full run the chapter modules (test_02 to test_10) have worked their folders
through already, and this module reuses them, working only chapter 01 here; run
alone, it works through each missing chapter itself, catching the shared stack up to
the chapter before it first, and every chapter after the first missing one (a folder
worked on a stack that a later chapter has moved on from no longer matches it).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import grader
from tests.e2e.coursework import grade_unmodified_release, max_points, work_through, instructors_record
from workshop.chapters import chapter_ids
from workshop.classroom.autograde import GRADED, grade_class
from workshop import loadtest
from workshop.course import Course
from workshop.lab import open_lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def submission(course_stack, worked_folders, tmp_path_factory) -> dict:
    """{chapter: folder}: every chapter worked through on the shared stack, in course order."""
    started, worked, chapters = time.monotonic(), [], chapter_ids()
    first, later = chapters[0], chapters[1:]
    missing = next((index for index, chapter in enumerate(later) if chapter not in worked_folders), len(later))
    # a later chapter's folder, worked before a missing one, is done again after it; chapter 01
    # is worked on a stack of its own (test_01), and its notebook only starts web1 and reads it,
    # so working it here, at any point, moves the shared stack nowhere
    for chapter in [first] * (first not in worked_folders) + later[missing:]:
        course_stack(chapter)
        worked_folders[chapter] = tmp_path_factory.mktemp("alice") / chapter
        work_through(chapter, worked_folders[chapter])
        worked.append(chapter)
    print(f"\nworked through {len(worked)} chapter(s) here ({', '.join(worked) or 'the others had'}) "
          f"in {time.monotonic() - started:.0f} s")
    return {chapter: worked_folders[chapter] for chapter in chapters}


def test_the_whole_submission_autogrades_to_full_marks(submission, tmp_path):
    """Graded as `workshop class grade` grades a class: two chapters at a time, on the
    instructor's record of the stack."""
    course = Course(tmp_path / "course")
    course.release()
    for chapter, folder in submission.items():
        course.submit(chapter, "alice", folder)
    record = instructors_record()
    started = time.monotonic()
    grades = grade_class(course, chapter_ids(), ["alice"], workers=2,
                         records={"alice": record.path})
    print(f"\nautograded the whole submission in {time.monotonic() - started:.0f} s, 2 chapters at a time")
    print("the stages this submission measured, as lesson 10 compares them:\n"
          + loadtest.comparison(loadtest.recorded(open_lab(folder=submission["10-final-load-test"]))))
    scores = {g.assignment: (g.status, g.score, g.max_score, g.detail) for g in grades}
    assert scores == {chapter: (GRADED, max_points(chapter), max_points(chapter), "") for chapter in chapter_ids()}, \
        "\n".join(f"{chapter}: {_hints(chapter, submission[chapter])}" for chapter, score in scores.items()
                  if score[1] != max_points(chapter))


def test_the_unmodified_releases_autograde_to_zero(tmp_path):
    course = Course(tmp_path / "course")
    course.release()
    for chapter in chapter_ids():
        score, feedback = grade_unmodified_release(course, chapter, tmp_path)
        assert score == (0, max_points(chapter)) and "no stack found" in feedback, chapter


def _hints(chapter: str, folder: Path) -> str:
    """Why `chapter` lost points: the hints of its failing checks, probed on the stack now."""
    try:
        grader.assert_checks(chapter, folder=str(folder))
    except AssertionError as failure:
        return str(failure)
    return "every check passes when probed from the notebook's folder"
