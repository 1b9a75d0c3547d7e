"""EC2 boot readiness: wait for SSH and cloud-init, report a failed first boot with its log (no network)."""

from __future__ import annotations

import pytest

from workshop.aws.errors import BootError
from workshop.errors import RemoteError
from workshop.progress import Progress
from workshop.providers import ec2
from workshop.remote import CommandResult
from workshop.stack import InstanceRecord, Stack

RECORD = InstanceRecord(name="web1", role="web", private_ip="172.31.9.21", public_host="192.0.2.50",
                        ports={"22": 22, "80": 80}, provider_id="i-0abc", host_key="ssh-ed25519 AAAA")
STACK = Stack(name="lab", provider="ec2", ssh_user="root", ssh_key="/nonexistent/id_ed25519")


class ScriptedRemote:
    """Answers each SSH command from a script: a CommandResult, or a RemoteError while sshd is not up."""

    script: list = []
    commands: list = []

    def __init__(self, record, user, key_path, connect_timeout):
        assert (record, user, key_path) == (RECORD, "root", STACK.ssh_key)

    def run(self, command, timeout=120, check=False):
        ScriptedRemote.commands.append(command)
        answer = ScriptedRemote.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return CommandResult(command, answer, "", 0)

    def close(self):
        pass


@pytest.fixture
def remote(monkeypatch):
    """Scripted SSH answers, and a clock that moves only when the probe sleeps."""
    clock = [0.0]
    monkeypatch.setattr(ec2, "Remote", ScriptedRemote)
    monkeypatch.setattr(ec2.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(ec2.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    ScriptedRemote.commands = []
    return ScriptedRemote


def test_ready_once_ssh_answers_and_cloud_init_is_done(remote):
    remote.script = [RemoteError("Connection refused"), RemoteError("Connection refused"), "status: done\n"]
    ec2.wait_until_ready(STACK, RECORD, Progress("t", quiet=True))
    assert remote.commands == ["cloud-init status --wait"] * 3


def test_a_failed_cloud_init_is_a_boot_error_with_the_end_of_its_log(remote):
    remote.script = ["status: error\n", "E: Unable to locate package pgpool2\n"]
    with pytest.raises(BootError, match="(?s)web1 failed its first boot.*status: error.*Unable to locate package"):
        ec2.wait_until_ready(STACK, RECORD, Progress("t", quiet=True))


def test_no_ssh_within_the_time_limit_is_a_boot_error_naming_the_last_problem(remote):
    remote.script = [RemoteError("Connection timed out")] * 50
    with pytest.raises(BootError, match="did not finish booting within 30s.*Connection timed out"):
        ec2.wait_until_ready(STACK, RECORD, Progress("t", quiet=True), timeout=30)
    assert len(remote.commands) == 6  # one try every 5 s


def test_the_user_data_is_cloud_config_as_cloud_init_reads_it_and_a_valid_bash_script():
    import subprocess

    import yaml  # cloud-init parses user-data with PyYAML

    from workshop import machine
    from workshop.aws.userdata import host_key_pair, render

    private, public = host_key_pair()
    text = render("db2", private, public)
    config = yaml.safe_load(text)
    assert text.startswith("#cloud-config\n") and config["hostname"] == "db2"
    assert config["ssh_keys"] == {"ed25519_private": private, "ed25519_public": public}
    argv = config["runcmd"][0]
    assert argv[:2] == ["bash", "-c"] and argv[2].startswith("set -eu")
    assert subprocess.run(["bash", "-n", "-c", argv[2]]).returncode == 0
    disable = next(line for line in argv[2].splitlines() if line.startswith("systemctl disable"))
    assert set(disable.split()[3:]) == set(machine.DISABLED_SERVICES + machine.DISABLED_TIMERS)
