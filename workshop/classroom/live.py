"""Which checks pass right now, for every student: one read-only poll of the class.

The live view runs the graded checks themselves (workshop/poll.py: read-only, each
check with autograde's time limit, a chapter the stack has not reached yet shown as
"not reached yet" with its checks not run), so what the instructor sees is what
autograde would give, and a class at chapter 02 is not a wall of red for chapters
nobody has started. A stack whose machines do not answer SSH at all is reported
once as unreachable, without running checks; so is one whose descriptor is invalid
(with the reason), and the others are polled as usual. Each row also carries what
the student's stack diagram needs (its machines and the database roles seen).

Example::

    snapshot = poll_class(classroom)
    snapshot["students"][0]["passed"], snapshot["students"][0]["total"]
    # -> (6, 23)
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grader
from grader.result import FAILED, NOT_RUN, PASSED

from ..chapters import chapter_ids
from ..errors import DescriptorError
from ..poll import NOT_POLLED, NOT_REACHED, UNREACHABLE, poll_stack
from .layout import Classroom
from .roster import Student


def chapter_plan(chapters: list[str] | None = None) -> list[dict]:
    """The chapters polled (all by default), each with its checks (id, title, points), in course order."""
    return [{"id": chapter, "checks": [{"id": item.check_id, "title": item.title, "points": item.points}
                                       for item in grader.checks_for(chapter)]}
            for chapter in (chapters or chapter_ids())]


def poll_student(classroom: Classroom, student: Student, plan: list[dict]) -> dict:
    """One student's row: each check's status (and hint), counts, how long the poll took,
    the stack's machines and database roles."""
    started = time.monotonic()
    row = {"id": student.id, "name": student.name, "stack": classroom.stack_name(student), "problem": "",
           "results": {}, "passed": 0, "total": sum(len(chapter["checks"]) for chapter in plan),
           "machines": [], "roles": {}}
    try:
        stack = classroom.stack(student)
        problem = "no stack yet (workshop class up)" if stack is None else ""
    except DescriptorError as exc:
        stack, problem = None, str(exc)
    if problem:
        row["problem"] = problem
        row["results"] = {c["id"]: {k["id"]: {"status": UNREACHABLE, "hint": problem} for k in c["checks"]}
                          for c in plan}
        return {**row, "seconds": round(time.monotonic() - started, 1)}
    poll = poll_stack(stack, classroom.stack_folder(student), [chapter["id"] for chapter in plan])
    row["problem"], row["machines"] = poll.problem, list(stack.instances)
    row["results"] = {chapter: {check_id: {"status": result.status, "hint": "; ".join(result.hints)}
                                for check_id, result in checks.items()}
                      for chapter, checks in poll.results.items()}
    row["passed"] = sum(result.passed for checks in poll.results.values() for result in checks.values())
    row["roles"] = poll.roles()
    return {**row, "seconds": round(time.monotonic() - started, 1)}


def poll_class(classroom: Classroom, chapters: list[str] | None = None, workers: int = 4) -> dict:
    """A snapshot of the whole class, students polled `workers` at a time."""
    started = time.time()
    plan = chapter_plan(chapters)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        students = list(pool.map(lambda student: poll_student(classroom, student, plan), classroom.students))
    return {"class": classroom.name, "taken_at": started, "seconds": round(time.time() - started, 1),
            "chapters": plan, "students": students,
            "statuses": [PASSED, FAILED, NOT_RUN, NOT_REACHED, NOT_POLLED, UNREACHABLE]}
