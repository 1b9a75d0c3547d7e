"""`workshop catch-up N` brings an empty stack to the end of chapter N, where every
check of chapters 01..N passes (answer checks need a notebook: not run, not passed),
and running it again changes nothing that breaks them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workshop.chapters import CHAPTERS

pytestmark = pytest.mark.e2e
LAST = CHAPTERS[-1].id


def workshop(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workshop.cli", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


def test_catch_up_from_an_empty_stack_passes_every_check_and_is_idempotent(stack_name, tmp_path):
    for attempt in ("first", "again"):
        result = workshop("catch-up", LAST, cwd=tmp_path)
        assert result.returncode == 0, f"{attempt}: {result.stderr[-3000:]}"
        assert f"is at the end of {LAST}" in result.stdout
        check = workshop("check", cwd=tmp_path)
        assert check.returncode == 0, f"{attempt}: {check.stdout}"
        assert "[FAIL]" not in check.stdout


def test_an_unknown_chapter_is_refused_with_the_list(stack_name, tmp_path):
    result = workshop("catch-up", "42", cwd=tmp_path)
    assert result.returncode == 2 and "choose from 01-getting-started" in result.stderr
