"""Chapter 01 end to end, on a real local stack: the solution
autogrades to full marks, the unmodified release to zero with its hint in the
feedback, every check fails with its hint on a broken stack, the CLI works,
and teardown leaves nothing behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import grader
import pytest

from tests.e2e.coursework import failing_hints, grade, grade_unmodified_release, work_through, instructors_record
from workshop.chapters import chapter_ids
from workshop.providers import get_provider
from workshop.stack import load_named

CHAPTER = "01-getting-started"
FULL_MARKS = 6

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory, stack_name):
    """The solution notebook, worked through by a student against a real stack."""
    folder = tmp_path_factory.mktemp("alice") / CHAPTER
    printed = work_through(CHAPTER, folder)
    assert "Chapter 01-getting-started: 4/4 points" in printed
    assert "Chapter 01-getting-started: 2/2 points" in printed
    return folder


def test_the_solution_leaves_a_descriptor_for_the_grader(student_folder, stack_name):
    stack = load_named(stack_name)
    assert (student_folder / "workshop-stack.json").is_file()
    assert list(stack.instances) == ["web1"]


def test_the_solution_autogrades_to_full_marks(course, student_folder):
    assert grade(course, CHAPTER, "alice", student_folder, instructors_record()) == (FULL_MARKS, FULL_MARKS)


def test_the_unmodified_release_autogrades_to_zero_with_the_hint_in_its_feedback(course, tmp_path):
    score, feedback = grade_unmodified_release(course, CHAPTER, tmp_path)
    assert score == (0, FULL_MARKS)
    assert "no stack found" in feedback
    assert "lab.up(&quot;web1&quot;)" in feedback or 'lab.up("web1")' in feedback


def test_the_cli_reports_checks_and_logs_in(student_folder, stack_name):
    status = _workshop("status")
    assert "web1" in status.stdout and "running" in status.stdout
    check = _workshop("check", CHAPTER)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[PASS] web1 is running" in check.stdout
    assert "[----] os_name is the PRETTY_NAME" in check.stdout  # needs the notebook's answer: not run, not passed
    ssh = _workshop("ssh", "web1", "hostname")
    assert ssh.stdout.strip() == "web1", ssh.stderr


def test_no_check_of_a_later_chapter_passes_on_a_first_vm(student_folder):
    """Checks must never pass on a service that is absent: a stack with web1 alone
    scores nothing in chapters 02 to 10 (each check fails or is not run, with a hint)."""
    target = grader.Target.from_folder(student_folder)
    try:
        later = [chapter for chapter in chapter_ids() if chapter != CHAPTER]
        results = [result for chapter in later for result in grader.run_checks(chapter, target)]
    finally:
        target.close()
    assert len(results) > 40
    assert [r.check_id for r in results if r.passed] == []
    assert all(r.hints for r in results)


class TestChecksFailWithTheirHintOnABrokenStack:
    """Each check, after passing above, must catch a realistic mistake."""

    def test_os_name_answer_wrong(self, student_folder):
        hints = failing_hints(student_folder, CHAPTER, "os-name-answer", os_name="Debian 12")
        assert "PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'" in hints

    def test_os_name_answer_missing(self, student_folder):
        assert "os_name is not set" in failing_hints(student_folder, CHAPTER, "os-name-answer", os_name=None)

    def test_a_machine_that_is_not_debian_12(self, student_folder):
        web1 = _remote(student_folder)
        web1.run("cp /etc/os-release /root/os-release.bak && printf 'PRETTY_NAME=\"Ubuntu 24.04 LTS\"\\nID=ubuntu\\n"
                 "VERSION_ID=\"24.04\"\\n' > /etc/os-release", check=True)
        try:
            hints = failing_hints(student_folder, CHAPTER, "os-expected")
        finally:
            web1.run("cp /root/os-release.bak /etc/os-release", check=True)
        assert "web1 runs Ubuntu 24.04 LTS" in hints

    def test_sshd_that_accepts_passwords(self, student_folder):
        web1 = _remote(student_folder)
        web1.run("echo 'PasswordAuthentication yes' > /etc/ssh/sshd_config.d/00-broken.conf && systemctl reload ssh",
                 check=True)
        _wait_for_sshd(student_folder)
        try:
            hints = failing_hints(student_folder, CHAPTER, "ssh-key-login")
        finally:
            web1.run("rm /etc/ssh/sshd_config.d/00-broken.conf && systemctl reload ssh", check=True)
            _wait_for_sshd(student_folder)
        assert "offers password, publickey logins" in hints

    def test_a_stopped_instance(self, student_folder, stack_name):
        stack = load_named(stack_name)
        provider = get_provider(stack.provider)
        provider.stop(stack, "web1")
        try:
            hints = failing_hints(student_folder, CHAPTER, "instance-running")
        finally:
            from workshop.progress import Progress
            provider.start(stack, "web1", Progress("test", quiet=True))
        assert "web1 is stopped" in hints
        grader.assert_checks(CHAPTER, "instance-running", folder=str(student_folder))


def test_down_removes_every_container_network_key_and_descriptor(student_folder, stack_name):
    stack = load_named(stack_name)
    result = _workshop("down", "--yes")
    assert result.returncode == 0, result.stderr
    assert get_provider(stack.provider).leftovers(stack) == []
    assert not stack.folder.exists()
    assert not (student_folder / "workshop-stack.json").exists()
    assert _workshop("status").returncode == 2


def _workshop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workshop.cli", *args], capture_output=True, text=True, timeout=300)


def _remote(folder):
    return grader.Target.from_folder(folder).remote("web1")


def _wait_for_sshd(folder, seconds: float = 15) -> None:
    """sshd re-executes itself on reload and refuses connections for a moment."""
    record = grader.Target.from_folder(folder).record("web1")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((record.public_host, record.public_port(22)), timeout=2) as sock:
                sock.settimeout(2)
                if sock.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("sshd on web1 did not come back after a reload")
