"""Check reports carry each check's time, and a printed report gives the times back."""

import time

import grader
from grader.registry import Check, run_check
from grader.report import CheckTime, check_times
from grader.target import Target


def test_each_check_line_shows_how_long_its_probe_took():
    slow = Check("99-test", "slow", "a slow probe", 2, lambda target, verdict: time.sleep(0.2))
    result = run_check(slow, Target(None, "nowhere"))
    assert 0.2 <= result.seconds < 5
    assert f"[PASS] a slow probe (2/2) in {result.seconds:.1f} s" in grader.format_report("Chapter 99-test", [result])


def test_the_times_come_back_from_printed_reports_with_their_chapter():
    printed = "\n".join([
        "[workshop] nbgrader autograde: skipped 'deploy web1' (grading never changes the stack)",
        "Chapter 01-getting-started: 4/6 points",
        "  [PASS] web1 is running (2/2) in 0.3 s",
        "  [FAIL] the answer (x) is right (0/2) in 12.0 s",
        "         hint: fix it",
        "Chapter 05-load-balancing: 0/1 points",
        "  [----] needs an answer (0/1) in 0.0 s",
        "  [PASS] not a report line (1/1)",
    ])
    assert check_times(printed) == [CheckTime("01-getting-started", "web1 is running", 0.3),
                                    CheckTime("01-getting-started", "the answer (x) is right", 12.0),
                                    CheckTime("05-load-balancing", "needs an answer", 0.0)]


def test_check_lines_without_a_report_header_are_not_times():
    assert check_times("  [PASS] web1 is running (2/2) in 0.3 s") == []
