"""Autograde a whole class against the students' live stacks, in parallel.

Each submission is graded in a worker process of a bounded pool: nbgrader
sets NBGRADER_EXECUTION in its own process while it executes a notebook, and
separate processes keep one student's grading from leaking into another's.
The live-stack points are measured from the instructor's side, on the
instructor's own record of each student's stack (made by `class up`), never
on the descriptor that travelled with the submission (workshop/live_scores.py);
a submission whose descriptor names other machines is flagged. Before
executing anything, a worker looks at that stack: when no machine answers,
the student gets "stack unreachable" and the gradebook is left untouched, so
grading again once the stack is back gives the real grade. A record that
breaks a rule (descriptor.py) gets "invalid descriptor" and nothing runs.

Example::

    grades = grade_class(course, ["01-getting-started"], ["alice", "bob"], workers=2,
                         homes=classroom.homes(), records=classroom.records())
    print(format_table(summary_rows(grades, ["01-getting-started"]), ["student", "01-getting-started", "total"]))
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from ..course import Course
from ..errors import DescriptorError, WorkshopError
from ..progress import Progress
from ..stack import Stack
from .reach import unreachable

GRADED, UNREACHABLE, NOT_SUBMITTED, ERROR = "graded", "stack unreachable", "not submitted", "error"
INVALID = "invalid descriptor"


@dataclass
class Grade:
    """One submission's outcome in a grading run."""

    student: str
    assignment: str
    status: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    detail: str = ""

    @property
    def cell(self) -> str:
        """What a summary table shows for it: '5/6', or the status."""
        if self.status == GRADED:
            return f"{self.score:g}/{self.max_score:g}"
        return self.status


_COURSES: dict[str, Course] = {}


def grade_submission(course_root: str, assignment: str, student: str, home: str | None = None,
                     record: str | None = None, own_home: str | None = None) -> Grade:
    """Grade one submission (in a worker process): check that the student's stack answers, then
    autograde. `home` is the student's WORKSHOP_HOME (a class student's folder), where their stack's
    key must be; the notebooks are executed with it. `record` is the instructor's descriptor of the
    student's stack, on which the live-stack points are measured (None or missing: there is none).
    `own_home` is where the student's own copy of the stack keeps its key, which the descriptor in
    their submission names (a classroom server's student: ~/workshop; default: `home`)."""
    started = time.monotonic()
    if home:
        os.environ["WORKSHOP_HOME"] = home
    # nbgrader's first autograde of a student trips a harmless SQLAlchemy warning (docs/design.md §6)
    warnings.filterwarnings("ignore", category=SAWarning)
    course = _COURSES.setdefault(course_root, Course(Path(course_root)))
    folder = course.root / "submitted" / student / assignment
    if not folder.is_dir():
        return Grade(student, assignment, NOT_SUBMITTED)
    try:
        stack = Stack.load(Path(record), Path(home) if home else None) if record and Path(record).is_file() else None
        problem = unreachable(stack) if stack else None
        if problem:
            return Grade(student, assignment, UNREACHABLE, seconds=time.monotonic() - started, detail=problem)
        live = course.autograde(assignment, student, stack, Path(own_home) if own_home else None)
        score, max_score = course.score(assignment, student)
    except DescriptorError as exc:
        return Grade(student, assignment, INVALID, seconds=time.monotonic() - started,
                     detail=str(exc).removeprefix(f"{INVALID}: "))
    except (WorkshopError, RuntimeError) as exc:
        return Grade(student, assignment, ERROR, seconds=time.monotonic() - started, detail=_first_line(exc))
    return Grade(student, assignment, GRADED, score, max_score, time.monotonic() - started, live.descriptor_note)


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__


def ensure_in_gradebook(course: Course, assignments: list[str], students: list[str]) -> None:
    """nbgrader autogrades only assignments its gradebook knows: release the others first. And
    the students, added here once: two workers autograding a new student's first two submissions
    at once would both add the student, and one of them would fail."""
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
        known = {assignment.name for assignment in gradebook.assignments}
        for student in students:
            gradebook.update_or_create_student(student)
    missing = [name for name in assignments if name not in known]
    if missing:
        course.release(missing)


def grade_class(course: Course, assignments: list[str], students: list[str], workers: int = 2,
                progress: Progress | None = None, homes: dict[str, Path] | None = None,
                records: dict[str, Path] | None = None, own_homes: dict[str, Path] | None = None) -> list[Grade]:
    """Autograde every student's submission of every assignment; never stops at one student's problem.
    `homes` gives each student's WORKSHOP_HOME (a class's student folders; default: this one's),
    `records` the instructor's descriptor of each student's stack (a student without one scores 0
    on every live-stack check), `own_homes` where each student's own copy of it keeps its key, when
    not in `homes` (a classroom server's accounts: workshop.classroom.hub.student_homes)."""
    homes, records, own_homes = homes or {}, records or {}, own_homes or {}
    progress = progress or Progress("class autograde")
    everything = [(assignment, student) for student in students for assignment in assignments]
    jobs = [(a, s) for a, s in everything if (course.root / "submitted" / s / a).is_dir()]
    ensure_in_gradebook(course, assignments, sorted({student for _, student in jobs}))
    grades = [Grade(s, a, NOT_SUBMITTED) for a, s in everything if (a, s) not in jobs]
    progress.say("autograde", f"{len(jobs)} submission(s) of {len(students)} student(s), {workers} at a time")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        futures = {pool.submit(grade_submission, str(course.root), assignment, student,
                               str(homes[student]) if student in homes else None,
                               str(records[student]) if student in records else None,
                               str(own_homes[student]) if student in own_homes else None): (assignment, student)
                   for assignment, student in jobs}
        for future in as_completed(futures):
            assignment, student = futures[future]
            try:
                grade = future.result()
            except BrokenProcessPool as exc:
                grade = Grade(student, assignment, ERROR, detail=f"the grading worker died ({exc})")
            except Exception as exc:  # one submission's unforeseen failure must not end the class's run
                grade = Grade(student, assignment, ERROR, detail=f"grading failed ({exc.__class__.__name__}: {exc}); "
                                                                 "show this to the course's maintainers")
            grades.append(grade)
            said = grade.cell + (f" ({grade.detail})" if grade.detail else "")
            done = len(grades) - (len(everything) - len(jobs))
            progress.say(student, f"{assignment}: {said} [{grade.seconds:.1f}s] ({done}/{len(jobs)})")
    progress.done(f"graded {sum(g.status == GRADED for g in grades)} of {len(jobs)} submission(s)")
    order = {(a, s): index for index, (a, s) in enumerate(everything)}
    return sorted(grades, key=lambda grade: order[(grade.assignment, grade.student)])


def generate_feedback(course: Course, grades: list[Grade]) -> list[Path]:
    """nbgrader feedback (HTML, hidden tests removed) of every graded submission."""
    return [course.feedback(grade.assignment, grade.student) for grade in grades if grade.status == GRADED]


def summary_rows(grades: list[Grade], assignments: list[str]) -> list[dict]:
    """One row per student: each assignment's score or status, the total, the grading time."""
    rows: dict[str, dict] = {}
    for grade in grades:
        row = rows.setdefault(grade.student, {"student": grade.student, "_score": 0.0, "_max": 0.0, "_s": 0.0})
        row[grade.assignment] = grade.cell
        row["_s"] += grade.seconds
        if grade.status == GRADED:
            row["_score"] += grade.score
            row["_max"] += grade.max_score
    for row in rows.values():
        row["total"] = f"{row.pop('_score'):g}/{row.pop('_max'):g}"
        row["seconds"] = f"{row.pop('_s'):.1f}"
        for assignment in assignments:
            row.setdefault(assignment, "-")
    return list(rows.values())
