"""Per-stack secrets (Django's secret key, database passwords), made once and
kept beside the stack's SSH key, readable by its owner only."""

from __future__ import annotations

import json
import os
import secrets
import string

from . import grading
from .stack import Stack

_ALPHABET = string.ascii_letters + string.digits  # safe unquoted in env files, URLs and SQL


def stack_secret(stack: Stack, name: str, length: int = 40) -> str:
    """The secret `name` of `stack`, generated on first use (never while grading)."""
    path = stack.folder / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    if name not in values and grading.active():
        return "not-available-while-grading"
    if name not in values:
        values[name] = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        stack.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle, indent=2)
    return values[name]
