"""Grading safety: nbgrader re-executes whole notebooks when it validates or
autogrades (and sets NBGRADER_EXECUTION in the kernel). Helpers that create,
change or destroy anything are marked `@changes(...)`: while grading they do
nothing, say so, and return what was recorded instead, so grading never alters
the stack it is grading. (Instance.run/put_bytes and Lab.up guard themselves:
every helper is built on them.)
"""

from __future__ import annotations

import functools
import inspect
import os
import string
from typing import Any, Callable


def active() -> str | None:
    """The nbgrader step running this kernel ("autograde", "validate"), or None."""
    return os.environ.get("NBGRADER_EXECUTION") or None


def skip(action: str) -> None:
    """Tell the reader of the graded notebook that `action` was not performed."""
    print(f"[workshop] nbgrader {active()}: skipped '{action}' (grading never changes the stack)", flush=True)


class _ActionFormatter(string.Formatter):
    """str.format, with lists of names written as "web1, web2"."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        return super().format_field(value, format_spec)


def changes(action: str, fallback: Callable[..., Any] | None = None):
    """Mark a helper that creates, changes or destroys something.

    While nbgrader grades, the helper's body does not run: `action` (formatted with
    the call's arguments, e.g. "deploy {name}") is reported as skipped and the helper
    returns `fallback(**arguments)` (what the graded notebook would have had, such as
    `lab.instance(name)` or a recorded result), or None.
    """
    def decorate(helper: Callable) -> Callable:
        signature = inspect.signature(helper)

        @functools.wraps(helper)
        def guarded(*args, **kwargs):
            if not active():
                return helper(*args, **kwargs)
            call = signature.bind(*args, **kwargs)
            call.apply_defaults()
            skip(_ActionFormatter().format(action, **call.arguments))
            return fallback(**call.arguments) if fallback else None

        guarded.changes = action
        return guarded

    return decorate


def named_instance(lab, name: str, **_) -> Any:
    """The fallback of a deploy helper: `lab.instance(name)`, as the graded notebook knew it."""
    return lab.instance(name)
