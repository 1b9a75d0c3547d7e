"""testinfra's modules run over the grader's own Remote: commands quoted by testinfra,
exit codes and output kept, the probe timeout applied, and an unreachable machine's
message kept as the check's hint. A local shell stands in for the SSH connection."""

import socket
import subprocess

import pytest

from grader.registry import Check, run_check
from grader.result import FAILED
from grader.target import PROBE_COMMAND_TIMEOUT, ProbeError, Target
from workshop.errors import RemoteError
from workshop.remote import CommandResult
from workshop.stack import InstanceRecord, Stack


class LocalRemote:
    """Remote.run's contract, on this machine's bash."""

    def __init__(self, name="web1", unreachable=False):
        self.record = InstanceRecord(name, "web", "10.0.0.21", "127.0.0.1", {"22": 2222}, "local")
        self.unreachable = unreachable
        self.timeouts, self.closed = [], False

    def run(self, command, timeout=120):
        if self.unreachable:
            raise RemoteError(f"Cannot reach {self.record.name} over SSH at 127.0.0.1:2222. Is it running?")
        self.timeouts.append(timeout)
        done = subprocess.run(command, shell=True, executable="/bin/bash", capture_output=True, text=True,
                              timeout=timeout)
        return CommandResult(command, done.stdout, done.stderr, done.returncode)

    def close(self):
        self.closed = True


@pytest.fixture
def local(monkeypatch):
    remote = LocalRemote()
    monkeypatch.setattr(Target, "remote", lambda self, name: remote)
    stack = Stack("units", "local", "root", "/nonexistent/id", {}, {"web1": remote.record})
    return Target(stack, "a local stand-in"), remote


def test_file_facts_come_through_the_remote_with_testinfras_quoting(local, tmp_path):
    target, remote = local
    (tmp_path / "it's here.conf").write_text("enable_pool_hba = on\n")
    assert target.read_file("web1", str(tmp_path / "it's here.conf")) == "enable_pool_hba = on\n"
    assert target.read_file("web1", str(tmp_path / "missing.conf")) is None
    assert remote.timeouts and set(remote.timeouts) == {PROBE_COMMAND_TIMEOUT}


def test_exit_codes_and_output_are_kept(local):
    target, _ = local
    result = target.host("web1").run("echo out; echo err >&2; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_listening_addresses_are_those_of_the_port_asked(local):
    target, _ = local
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert target.listening_addresses("web1", port) == ["127.0.0.1"]
    assert target.listening_addresses("web1", port) == []


def test_one_host_per_machine_until_the_target_closes(local):
    target, _ = local
    assert target.host("web1") is target.host("web1")
    first = target.host("web1")
    target.close()
    assert target.host("web1") is not first


def test_an_unreachable_machine_fails_the_check_with_the_remotes_hint(monkeypatch):
    monkeypatch.setattr(Target, "remote", lambda self, name: LocalRemote(unreachable=True))
    target = Target(Stack("units", "local", "root", "/nonexistent/id", {}, {}), "a local stand-in")
    probe = Check("99-test", "probe", "a probe", 1, lambda t, verdict: t.host("web1").service("apache2").is_running)
    result = run_check(probe, target)
    assert (result.status, result.hints) == (FAILED, ["Cannot reach web1 over SSH at 127.0.0.1:2222. Is it running?"])


def test_after_a_check_is_abandoned_the_next_one_gets_a_fresh_host():
    record = LocalRemote().record
    target = Target(Stack("units", "local", "root", "/nonexistent/id", {}, {"web1": record}), "a stack")
    view = target.for_check()
    first = view.host("web1")  # nothing connects until a command runs
    target.abandon(view)
    later = target.for_check().host("web1")
    assert later is not first and later.backend.remote is not first.backend.remote
    with pytest.raises(ProbeError, match="abandoned"):
        view.host("web1")
