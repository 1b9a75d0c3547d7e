"""Checks that grade a student's running stack by probing it from outside.

In an exercise notebook's autograder cell::

    grader.assert_checks("01-getting-started", "instance-running", "ssh-key-login")

From a terminal: `workshop check 01-getting-started`.
"""

from __future__ import annotations

import importlib
import os

from workshop.chapters import CHAPTERS

from .registry import CHECKS, check, checks_for, run_checks
from .report import format_report
from .result import CheckResult
from .target import Target

for _chapter in CHAPTERS:
    importlib.import_module(_chapter.grader_module)  # registers the chapter's checks

__all__ = ["CHECKS", "CheckResult", "Target", "assert_checks", "check", "checks_for", "format_report", "run_checks"]


def assert_checks(chapter: str, *check_ids: str, folder: str | None = None, **answers) -> list[CheckResult]:
    """Probe the stack of the notebook in `folder` (default: here); print the report;
    raise AssertionError carrying every hint unless all the named checks pass."""
    target = Target.from_folder(folder or os.getcwd())
    try:
        results = run_checks(chapter, target, check_ids, answers)
    finally:
        target.close()
    print(format_report(f"Chapter {chapter}", results))
    failed = [result for result in results if not result.passed]
    if failed:
        hints = [f"{result.title}: {hint}" for result in failed for hint in result.hints]
        raise AssertionError("\n".join(hints))
    return results
