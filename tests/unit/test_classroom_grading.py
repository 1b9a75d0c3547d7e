"""Class grading bookkeeping: collecting zips, the summary table, the grades CSV.
(Autograding itself runs against real stacks in tests/e2e/test_classroom.py.)"""

import csv
import json
import zipfile

import pytest
from nbgrader.api import Gradebook

from workshop.classroom.autograde import (ERROR, GRADED, NOT_SUBMITTED, UNREACHABLE, Grade, ensure_in_gradebook,
                                          summary_rows)
from workshop.classroom.collect import collect_zips
from workshop.classroom.grades import FIELDS, grade_rows, write_grades
from workshop.classroom.roster import Student
from workshop.classroom.table import count_by, format_table
from workshop.course import Course

CHAPTER = "01-getting-started"
STUDENTS = [Student("alice", "Alice Martin"), Student("bob", "Bob Chen"), Student("carol", "Carol Diaz")]


@pytest.fixture(scope="module")
def course(tmp_path_factory, one_alembic_process):
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([CHAPTER])
    return course


def _zip(path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)


def test_zips_named_after_students_become_their_submissions_and_bad_ones_are_reported(course, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _zip(inbox / "alice.zip", {f"{CHAPTER}/first-vm.ipynb": "{}", f"{CHAPTER}/workshop-stack.json": "{}"})
    _zip(inbox / "bob.zip", {"first-vm.ipynb": "{}"})
    _zip(inbox / "carol.zip", {"../escape.ipynb": "{}"})
    _zip(inbox / "mallory.zip", {"first-vm.ipynb": "{}"})
    rows = {row["student"]: row for row in collect_zips(course, CHAPTER, inbox, STUDENTS)}
    assert (rows["alice"]["collected"], rows["alice"]["note"]) == ("yes", "invalid descriptor: the stack name None "
                                                                 "is not 1-31 lowercase letters, digits and '-' "
                                                                 "starting with a letter")
    assert (course.root / "submitted/alice" / CHAPTER / "workshop-stack.json").is_file()
    assert rows["bob"]["collected"] == "yes" and "no workshop-stack.json" in rows["bob"]["note"]
    assert (course.root / "submitted/bob" / CHAPTER / "first-vm.ipynb").is_file()
    assert rows["carol"] == {"student": "carol", "assignment": CHAPTER, "collected": "no",
                             "note": "carol.zip: unsafe path '../escape.ipynb' in the zip"}
    assert not (tmp_path / "escape.ipynb").exists()
    assert rows["mallory"]["note"] == "not in the roster"
    assert not (course.root / "submitted/mallory").exists()


@pytest.mark.parametrize("members, problem", [
    ({"README.txt": "hi"}, "the zip holds no notebook"),
    ({"a/x.ipynb": "{}", "b/y.ipynb": "{}"}, "notebooks in 2 different folders"),
])
def test_a_zip_without_one_folder_of_notebooks_is_not_collected(course, tmp_path, members, problem):
    _zip(tmp_path / "alice.zip", members)
    row = collect_zips(course, CHAPTER, tmp_path, STUDENTS[:1])[0]
    assert row["collected"] == "no" and problem in row["note"]


def test_a_missing_zip_is_reported(course, tmp_path):
    assert collect_zips(course, CHAPTER, tmp_path, STUDENTS[:1])[0]["note"] == "no alice.zip"


def test_the_summary_has_one_row_per_student_with_totals_and_time():
    grades = [Grade("alice", "01", GRADED, 6, 6, 3.2), Grade("alice", "02", GRADED, 5, 8, 4.0),
              Grade("bob", "01", UNREACHABLE, seconds=0.1, detail="no machine answers SSH"),
              Grade("bob", "02", NOT_SUBMITTED), Grade("carol", "01", ERROR, detail="boom")]
    rows = summary_rows(grades, ["01", "02"])
    assert rows == [{"student": "alice", "01": "6/6", "02": "5/8", "total": "11/14", "seconds": "7.2"},
                    {"student": "bob", "01": "stack unreachable", "02": "not submitted", "total": "0/0",
                     "seconds": "0.1"},
                    {"student": "carol", "01": "error", "02": "-", "total": "0/0", "seconds": "0.0"}]
    table = format_table(rows, ["student", "01", "02", "total"]).splitlines()
    assert table[0].split() == ["student", "01", "02", "total"]
    assert table[3] == "bob      stack unreachable  not submitted  0/0"
    assert count_by(rows, "total") == "1 11/14, 2 0/0"


def test_grades_csv_reads_the_gradebook_and_keeps_this_runs_status(course, tmp_path):
    run = [Grade("bob", CHAPTER, UNREACHABLE, detail="no machine answers SSH")]
    path = write_grades(tmp_path / "out" / "grades.csv", grade_rows(course, STUDENTS[:2], [CHAPTER], run))
    with path.open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == FIELDS
        rows = list(reader)
    max_points = sum(cell["metadata"]["nbgrader"].get("points", 0)
                     for cell in json.loads((course.root / "release" / CHAPTER / "first-vm.ipynb").read_text())["cells"]
                     if cell["metadata"].get("nbgrader", {}).get("grade"))
    assert rows == [
        {"student_id": "alice", "name": "Alice Martin", "assignment": CHAPTER, "score": "",
         "max_score": f"{max_points:.1f}", "status": NOT_SUBMITTED, "note": ""},
        {"student_id": "bob", "name": "Bob Chen", "assignment": CHAPTER, "score": "",
         "max_score": f"{max_points:.1f}", "status": UNREACHABLE, "note": "no machine answers SSH"},
    ]


def test_every_student_with_a_submission_is_in_the_gradebook_before_the_workers_start(course):
    """Two workers autograding a new student's first two submissions at once would both add the
    student to the gradebook, and one would fail ("nbgrader could not autograde alice")."""
    ensure_in_gradebook(course, [CHAPTER], ["dora", "eve"])
    ensure_in_gradebook(course, [CHAPTER], ["dora"])  # again: nothing changes, nothing fails
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
        assert {"dora", "eve"} <= {student.id for student in gradebook.students}
