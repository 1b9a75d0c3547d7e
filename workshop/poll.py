"""Which checks pass on one stack right now, read-only: what the instructor's live page,
the stack diagram (`lab.diagram()`) and `workshop export` show.

Polling must never change a stack: the target refuses any HTTP method but GET and
HEAD, and a check that needs one (uploading a probe file, say) is "not polled"
instead of run. Each check keeps the time limit autograde gives it. A chapter the
stack has not reached yet (a machine the course adds by its end does not exist in
the stack) is "not reached yet", not failed, and its checks are not run. A stack
whose machines (it has some) do not answer SSH at all is "unreachable" at once, every check with
the reason, without running any. Chapters are polled `workers` at a time, each
through its own target (its own connections).

Example::

    poll = poll_stack(lab.stack, lab.stack.folder, chapter_ids(), workers=4)
    poll.statuses()["01-getting-started"]["instance-running"], poll.roles()
    # -> ('passed', {'db1': 'primary', 'db2': 'standby'})
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grader
from grader.registry import run_check
from grader.result import CheckResult
from grader.target import ProbeError, Target

from .chapters import machines_through
from .classroom.reach import unreachable
from .stack import Stack

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


def missing_machines(stack: Stack, chapter: str) -> list[str]:
    """The machines the stack has at the end of `chapter` that `stack` does not have yet:
    none once the student's stack has reached the chapter."""
    return [name for name in machines_through(chapter) if name not in stack.instances]


@dataclass
class StackPoll:
    """Every polled check's result, by chapter id and check id, how long the poll took, and
    why no check ran if the stack did not answer at all."""

    results: dict[str, dict[str, CheckResult]]
    seconds: float
    problem: str = ""

    def statuses(self) -> dict[str, dict[str, str]]:
        return {chapter: {check_id: result.status for check_id, result in checks.items()}
                for chapter, checks in self.results.items()}

    def roles(self) -> dict[str, str]:
        """primary/standby/down of the database servers, as chapter 08's checks saw them ({} if none did)."""
        return next((result.evidence["roles"] for checks in self.results.values() for result in checks.values()
                     if isinstance(result.evidence.get("roles"), dict)), {})


def poll_chapter(stack: Stack, stack_folder: Path, chapter: str) -> dict[str, CheckResult]:
    """One chapter's checks on `stack`, read-only; not run when the stack has not reached it."""
    missing = missing_machines(stack, chapter)
    checks = grader.checks_for(chapter)
    if missing:
        hint = f"not reached yet: no {', '.join(missing)} in the stack"
        return {item.check_id: CheckResult(item.check_id, item.title, NOT_REACHED, item.points, [hint])
                for item in checks}
    target = ReadOnlyTarget(stack, f"stack {stack.name}", stack_folder)
    outcomes = {}
    try:
        for item in checks:
            target.refusals.clear()
            result = run_check(item, target)
            if target.refusals:
                result.status, result.hints = NOT_POLLED, [target.refusals[0]]
            outcomes[item.check_id] = result
    finally:
        target.close()
    return outcomes


def poll_stack(stack: Stack, stack_folder: Path, chapters: list[str], workers: int = 1) -> StackPoll:
    """Every check of `chapters` on `stack` (its records in `stack_folder`), `workers` chapters at a time."""
    started = time.monotonic()
    problem = unreachable(stack) if stack.instances else ""  # no machine yet: no chapter reached
    if problem:
        results = {chapter: {item.check_id: CheckResult(item.check_id, item.title, UNREACHABLE, item.points, [problem])
                             for item in grader.checks_for(chapter)} for chapter in chapters}
        return StackPoll(results, round(time.monotonic() - started, 1), problem)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(lambda chapter: poll_chapter(stack, stack_folder, chapter), chapters))
    return StackPoll(dict(zip(chapters, found)), round(time.monotonic() - started, 1))
