"""Per-stack secrets (Django's secret key, database passwords), made once and
kept beside the stack's SSH key, readable by its owner only.

Catch-up deploys machines from several threads (and `workshop class` runs several
processes), so each secret is read and added under a lock, and the file is replaced
whole: a reader never sees it half written, and no secret made at the same time is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import string
import threading
from contextlib import contextmanager
from pathlib import Path

from . import grading
from .stack import Stack

_ALPHABET = string.ascii_letters + string.digits  # safe unquoted in env files, URLs and SQL
_THREADS = threading.Lock()  # flock is per open file: threads of one process need their own lock


def stack_secret(stack: Stack, name: str, length: int = 40) -> str:
    """The secret `name` of `stack`, generated on first use (never while grading)."""
    path = stack.folder / "secrets.json"
    values = _read(path)
    if name in values:
        return values[name]
    if grading.active():
        return "not-available-while-grading"
    stack.folder.mkdir(parents=True, exist_ok=True)
    with _locked(stack.folder / ".secrets.lock"):
        values = _read(path)  # another thread or process may have made it meanwhile
        if name not in values:
            values[name] = "".join(secrets.choice(_ALPHABET) for _ in range(length))
            staged = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(values, handle, indent=2)
            os.replace(staged, path)
    return values[name]


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


@contextmanager
def _locked(lock_path: Path):
    with _THREADS:
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
