"""Grading safety: nbgrader re-executes whole notebooks when it validates or
autogrades (and sets NBGRADER_EXECUTION in the kernel). Helpers that create,
change or destroy anything ask `active()` first and, while grading, do
nothing and say so, so grading never alters the stack it is grading.
"""

import os


def active() -> str | None:
    """The nbgrader step running this kernel ("autograde", "validate"), or None."""
    return os.environ.get("NBGRADER_EXECUTION") or None


def skip(action: str) -> None:
    """Tell the reader of the graded notebook that `action` was not performed."""
    print(f"[workshop] nbgrader {active()}: skipped '{action}' (grading never changes the stack)", flush=True)
