"""Grades of a class as CSV, one row per student and assignment, read from the
gradebook (so earlier runs count) with this run's status where it has one.

    student_id,name,assignment,score,max_score,status,note
    alice,Alice Martin,01-getting-started,6.0,6.0,graded,
    dave,Dave Ode,01-getting-started,,6.0,stack unreachable,no machine answers SSH: ...

The note says why a grade is missing, or what was flagged (a submission whose descriptor
is not the instructor's record of the student's stack).
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from ..course import Course
from .autograde import GRADED, NOT_SUBMITTED, Grade
from .roster import Student

FIELDS = ["student_id", "name", "assignment", "score", "max_score", "status", "note"]


def grade_rows(course: Course, students: list[Student], assignments: list[str],
               run: list[Grade] = ()) -> list[dict]:
    latest = {(grade.student, grade.assignment): grade for grade in run}
    rows = []
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
        for student in students:
            for assignment in assignments:
                try:
                    max_score = gradebook.find_assignment(assignment).max_score
                except MissingEntry:
                    max_score = ""
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                    score, max_score, status = submission.score, submission.max_score, GRADED
                except MissingEntry:
                    score, status = "", NOT_SUBMITTED
                grade = latest.get((student.id, assignment))
                if grade is not None and grade.status != GRADED:
                    status = grade.status
                rows.append({"student_id": student.id, "name": student.name, "assignment": assignment,
                             "score": score, "max_score": max_score, "status": status,
                             "note": grade.detail if grade is not None else ""})
    return rows


def write_grades(path: Path, rows: list[dict]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path
