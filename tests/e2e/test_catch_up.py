"""`workshop catch-up N` brings an empty stack to the end of chapter N, where every
check of chapters 01..N passes (answer checks need a notebook: not run, not passed)
except those that grade the exercises' own load tests and drills: catch-up's load tests
are for moving on, and those checks say so; it runs no drill, and the drills' checks
ask for one; and every check of the chapters whose answer is a config file (02's vhost,
05's nginx site, 06's memcached configuration, 09's VCL), which catch-up installs as the
course's own, says that it earns nothing. Running it again changes nothing that breaks them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader import CHECKS
from grader.course_answers import ANSWER_FILES
from workshop.chapters import CHAPTERS

pytestmark = pytest.mark.e2e
LAST = CHAPTERS[-1].id
#: The checks of a result the student must record themselves, by chapter, with the start of
#: their hint on a caught-up stack: catch-up's load test earns nothing; its drills do not exist.
CATCH_UPS_RUN = "was run by `workshop catch-up`, which is for moving on, not for marks"
OWN_RUNS = {"02-mod-wsgi": {"baseline-load-test": CATCH_UPS_RUN},
            "04-fabric": {"rollback-restored": "has no rollback: deploy a second release"},
            "05-load-balancing": {"crash-survived": "no crash drill recorded for web1: run"},
            "08-replication": dict.fromkeys(["standby-promoted", "writes-after-failover", "no-acknowledged-write-lost",
                                             "pair-whole-again"], "no failover drill recorded for db1: run"),
            "10-final-load-test": {"final-load-test": CATCH_UPS_RUN}}
#: The first hint of every check of a chapter whose answer file is the course's own.
COURSE_ANSWER = "runs the course's own"


def failed_checks(report: str) -> dict[str, str]:
    """{title: first hint} of every failed check in `workshop check`'s report."""
    lines = report.splitlines()
    return {line.split("] ", 1)[1].rsplit(" (", 1)[0]: lines[index + 1].strip()
            for index, line in enumerate(lines) if line.startswith("  [FAIL] ")}


def workshop(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workshop.cli", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


def test_catch_up_from_an_empty_stack_passes_every_check_and_is_idempotent(stack_name, tmp_path):
    for attempt in ("first", "again"):
        result = workshop("catch-up", LAST, cwd=tmp_path)
        assert result.returncode == 0, f"{attempt}: {result.stderr[-3000:]}"
        assert f"is at the end of {LAST}" in result.stdout
        check = workshop("check", cwd=tmp_path)
        failed = failed_checks(check.stdout)
        expected = {CHECKS[chapter][check_id].title: hint for chapter, hints in OWN_RUNS.items()
                    for check_id, hint in hints.items()}
        expected |= {item.title: COURSE_ANSWER for chapter in ANSWER_FILES for item in CHECKS[chapter].values()
                     if not item.answers}  # an answer check needs the notebook: not run
        assert sorted(failed) == sorted(expected), f"{attempt}: {check.stdout}"
        assert all(expected[title] in hint for title, hint in failed.items()), f"{attempt}: {check.stdout}"


def test_an_unknown_chapter_is_refused_with_the_list(stack_name, tmp_path):
    result = workshop("catch-up", "42", cwd=tmp_path)
    assert result.returncode == 2 and "choose from 01-getting-started" in result.stderr
