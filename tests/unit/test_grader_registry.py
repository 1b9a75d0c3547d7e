"""The check runner: probes become results, never exceptions; not-run is never a pass."""

import threading
import time
from types import SimpleNamespace

import pytest

import grader
from grader.registry import Check, run_check
from grader.result import FAILED, NOT_RUN, PASSED
from grader.target import ProbeError, Target


def a_check(probe, answers=(), timeout=5):
    return Check("99-test", "probe", "a probe", 3, probe, answers, timeout)


def test_a_probe_without_hints_passes_with_its_points_and_evidence():
    result = run_check(a_check(lambda target, verdict: verdict.see(seen="yes")), Target(None, "nowhere"))
    assert (result.status, result.points, result.evidence) == (PASSED, 3, {"seen": "yes"})


def test_a_probe_that_raises_fails_with_the_message_as_hint():
    def probe(target, verdict):
        raise ProbeError("web1 is gone: lab.up('web1')")
    result = run_check(a_check(probe), Target(None, "nowhere"))
    assert (result.status, result.points, result.hints) == (FAILED, 0, ["web1 is gone: lab.up('web1')"])


def test_a_bug_in_a_check_fails_it_without_blaming_the_student_or_crashing():
    def probe(target, verdict):
        return [][1]
    result = run_check(a_check(probe), Target(None, "nowhere"))
    assert result.status == FAILED and "show this to the instructor" in result.hints[0]


def test_a_probe_that_hangs_fails_at_its_timeout():
    result = run_check(a_check(lambda target, verdict: time.sleep(3), timeout=0.2), Target(None, "nowhere"))
    assert result.status == FAILED and "did not finish within 0s" in result.hints[0]


def test_a_check_that_needs_an_answer_is_not_run_without_it_and_earns_nothing():
    result = run_check(a_check(lambda target, verdict: None, answers=("os_name",)), Target(None, "nowhere"))
    assert (result.status, result.points, result.passed) == (NOT_RUN, 0, False)


def test_checks_of_a_folder_without_a_stack_fail_with_how_to_start_one(tmp_path, capsys):
    with pytest.raises(AssertionError, match=r"no stack found .*lab.up\(\"web1\"\)"):
        grader.assert_checks("01-getting-started", "instance-running", folder=str(tmp_path))
    assert "[FAIL] web1 is running" in capsys.readouterr().out


def test_unknown_chapters_and_checks_are_named():
    with pytest.raises(KeyError, match="chapters: 01-getting-started"):
        grader.checks_for("42-nothing")
    with pytest.raises(KeyError, match="has no check nope"):
        grader.checks_for("01-getting-started", ("nope",))


def test_the_report_shows_marks_hints_and_evidence():
    results = [run_check(a_check(lambda t, v: v.fail("fix it").see(saw=1)), Target(None, "x")),
               run_check(a_check(lambda t, v: None), Target(None, "x"))]
    text = grader.format_report("Chapter 99", results)
    assert text.splitlines()[0] == "Chapter 99: 3/6 points"
    assert "[FAIL] a probe (0/3)" in text and "hint: fix it" in text and "seen: saw=1" in text



def test_a_timed_out_probe_never_shares_a_connection_with_the_next_check(monkeypatch):
    """The probe still running after its time limit loses its connection and cannot open
    another; the next check talks over a fresh one."""
    opened = []

    class Connection:
        def __init__(self, record, *args, **kwargs):
            self.users, self.closed = [], False
            opened.append(self)

        def close(self):
            self.closed = True

    monkeypatch.setattr("grader.target.Remote", Connection)
    monkeypatch.setattr(Target, "record", lambda self, name: name)
    monkeypatch.setattr(Target, "require_stack", lambda self: SimpleNamespace(ssh_user="u", ssh_key="k"))
    released, after_the_limit = threading.Event(), []

    def hanging(view, verdict):
        view.remote("web1").users.append("hanging")
        released.wait(5)
        try:
            view.remote("web1")
        except ProbeError as exc:
            after_the_limit.append(str(exc))

    target = Target(None, "nowhere")
    first = run_check(a_check(hanging, timeout=0.2), target)
    second = run_check(a_check(lambda view, verdict: view.remote("web1").users.append("next")), target)
    released.set()
    time.sleep(0.2)
    assert (first.status, second.status) == (FAILED, PASSED)
    assert [c.users for c in opened] == [["hanging"], ["next"]] and opened[0].closed and not opened[1].closed
    assert after_the_limit and "abandoned" in after_the_limit[0]
