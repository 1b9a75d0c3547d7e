"""Which checks pass right now, for every student: one read-only poll of the class.

The live view runs the graded checks themselves, so what the instructor
sees is what autograde would give. Polling must never change a stack: the
target refuses any HTTP method but GET and HEAD, and a check that needs one
(uploading a probe file, say) shows as "not polled" instead of running.
Each check keeps its own time limit (the one autograde uses: a shorter one
here made slow but healthy checks, like grepping a big access log, show as
failed), and a stack whose machines do not answer SSH at all is reported
once as unreachable, without running checks; so is one whose descriptor is
invalid (with the reason), and the others are polled as usual. A chapter the
stack has not reached yet (a machine the course adds by its end does not exist
in the stack) is "not reached yet", not failed, and its checks are not run: a
class at chapter 02 is not a wall of red for chapters nobody has started.

Example::

    snapshot = poll_class(classroom)
    snapshot["students"][0]["passed"], snapshot["students"][0]["total"]
    # -> (6, 23)
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grader
from grader.registry import run_check
from grader.result import FAILED, NOT_RUN, PASSED
from grader.target import ProbeError, Target

from ..chapters import chapter_ids, machines_through
from ..errors import DescriptorError
from .layout import Classroom
from .reach import unreachable
from .roster import Student

NOT_POLLED, UNREACHABLE, NOT_REACHED = "not polled", "unreachable", "not reached yet"
SAFE_METHODS = ("GET", "HEAD")


class ReadOnlyTarget(Target):
    """A check target that only reads: requests that could write are refused (and noted),
    and recorded results come from the student's own stack folder."""

    def __init__(self, stack, source: str, stack_folder: Path):
        super().__init__(stack, source, folder=stack_folder.parent.parent, stack_folder=stack_folder)
        self.refusals: list[str] = []  # shared with each check's view (Target.for_check)

    def http(self, name: str, path: str = "/", port: int = 80, method: str = "GET", **kwargs):
        if method.upper() not in SAFE_METHODS:
            refusal = f"not polled live: this check sends {method.upper()} {path}, which writes to the stack"
            self.refusals.append(refusal)
            raise ProbeError(refusal)
        return super().http(name, path, port, method, **kwargs)


def chapter_plan(chapters: list[str] | None = None) -> list[dict]:
    """The chapters polled (all by default), each with its checks (id, title, points), in course order."""
    return [{"id": chapter, "checks": [{"id": item.check_id, "title": item.title, "points": item.points}
                                       for item in grader.checks_for(chapter)]}
            for chapter in (chapters or chapter_ids())]


def missing_machines(stack, chapter: str) -> list[str]:
    """The machines the stack has at the end of `chapter` that `stack` does not have yet:
    none once the student's stack has reached the chapter."""
    return [name for name in machines_through(chapter) if name not in stack.instances]


def poll_student(classroom: Classroom, student: Student, plan: list[dict]) -> dict:
    """One student's row: each check's status (and hint), counts, how long the poll took."""
    started = time.monotonic()
    row = {"id": student.id, "name": student.name, "stack": classroom.stack_name(student), "problem": "",
           "results": {}, "passed": 0, "total": sum(len(chapter["checks"]) for chapter in plan)}
    try:
        stack = classroom.stack(student)
        problem = "no stack yet (workshop class up)" if stack is None else unreachable(stack)
    except DescriptorError as exc:
        stack, problem = None, str(exc)
    if problem:
        row["problem"] = problem
        row["results"] = {c["id"]: {k["id"]: {"status": UNREACHABLE, "hint": problem} for k in c["checks"]}
                          for c in plan}
        return {**row, "seconds": round(time.monotonic() - started, 1)}
    target = ReadOnlyTarget(stack, f"stack {stack.name}", classroom.stack_folder(student))
    try:
        for chapter in plan:
            outcomes = row["results"].setdefault(chapter["id"], {})
            missing = missing_machines(stack, chapter["id"])
            if missing:
                hint = f"not reached yet: no {', '.join(missing)} in the stack"
                outcomes.update({k["id"]: {"status": NOT_REACHED, "hint": hint} for k in chapter["checks"]})
                continue
            for item in grader.checks_for(chapter["id"]):
                target.refusals.clear()
                result = run_check(item, target)
                refused = target.refusals[0] if target.refusals else ""
                status = NOT_POLLED if refused else result.status
                outcomes[item.check_id] = {"status": status, "hint": refused or "; ".join(result.hints)}
                row["passed"] += status == PASSED
    finally:
        target.close()
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
