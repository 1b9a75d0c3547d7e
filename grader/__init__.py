"""Checks that grade a student's running stack by probing it from outside.

In an exercise notebook's autograder cell::

    grader.assert_checks("01-getting-started", "instance-running", "ssh-key-login")

From a terminal: `workshop check 01-getting-started`.

Under the course's autograde (Course.autograde) the call probes nothing and prints its
answers: the points of a live-stack check are measured from the instructor's side
(workshop/live_scores.py), outside the kernel the student's code runs in.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from workshop import grading
from workshop.chapters import CHAPTERS
from workshop.stack import find_descriptor

from .graded_cells import SCORED_OUTSIDE, answers_line
from .registry import CHECKS, check, checks_for, run_checks
from .report import format_report
from .result import CheckResult
from .target import Target

for _chapter in CHAPTERS:
    importlib.import_module(_chapter.grader_module)  # registers the chapter's checks

__all__ = ["CHECKS", "CheckResult", "Target", "assert_checks", "check", "checks_for", "format_report", "run_checks"]


def assert_checks(chapter: str, *check_ids: str, folder: str | None = None, **answers) -> list[CheckResult]:
    """Probe the stack of the notebook in `folder` (default: here); print the report;
    raise AssertionError carrying every hint unless all the named checks pass.

    Under the course's autograde: print the answers for the instructor's side and return [] (see above)."""
    if grading.active() == "autograde" and os.environ.get(SCORED_OUTSIDE):
        checks_for(chapter, check_ids)  # an unknown id is still an error in the notebook
        print(f"Chapter {chapter}: {', '.join(check_ids)} are probed from the instructor's side, "
              "on the instructor's record of your stack")
        print(answers_line(answers))
        return []
    target, shared = _target(Path(folder or os.getcwd()))
    try:
        results = run_checks(chapter, target, check_ids, answers)
    finally:
        if not shared:
            target.close()
    print(format_report(f"Chapter {chapter}", results))
    failed = [result for result in results if not result.passed]
    if failed:
        hints = [f"{result.title}: {hint}" for result in failed for hint in result.hints]
        raise AssertionError("\n".join(hints))
    return results


#: While nbgrader validates, the graded cells of a notebook probe through one Target (one SSH
#: connection per machine): nothing changes the stack between them.
_GRADING_TARGETS: dict[tuple[Path, str], Target] = {}


def _target(folder: Path) -> tuple[Target, bool]:
    """The target of the notebook in `folder`, and whether it is shared (its connections kept open
    for the next cell). Outside grading every report gets a fresh one: the student may change the stack
    (start, restart a machine) between cells."""
    if not grading.active():
        return Target.from_folder(folder), False
    descriptor = find_descriptor(folder)
    key = (folder.resolve(), descriptor.read_text() if descriptor else "")
    if key not in _GRADING_TARGETS:
        _GRADING_TARGETS[key] = Target.from_folder(folder)
    return _GRADING_TARGETS[key], True
