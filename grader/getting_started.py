"""Chapter 01, run our first VM: the instance runs, your key opens it, it is the expected OS."""

from __future__ import annotations

import shlex
import socket

import paramiko

from workshop import machine
from workshop.providers import RUNNING

from .registry import check
from .result import Verdict
from .target import Target

CHAPTER = "01-getting-started"
FIRST_VM = "web1"


def os_release(target: Target, name: str) -> dict[str, str]:
    """/etc/os-release of `name` as a dict (values unquoted)."""
    text = target.read_file(name, "/etc/os-release") or ""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: (shlex.split(value) or [""])[0] for key, value in pairs}


@check(CHAPTER, "instance-running", "web1 is running and its SSH port answers", points=2, stands_on=())
def instance_running(target: Target, verdict: Verdict) -> None:
    record = target.record(FIRST_VM)
    state = target.state(FIRST_VM)
    verdict.see(state=state, private_ip=record.private_ip, ssh=f"{record.public_host}:{record.ports.get('22')}")
    if state != RUNNING:
        verdict.fail(f"web1 is {state}: start it with lab.up(\"web1\") (or `workshop up web1`)")
        return
    try:
        with socket.create_connection((record.public_host, record.public_port(22)), timeout=5) as sock:
            sock.settimeout(5)
            verdict.see(banner=sock.recv(64).decode(errors="replace").strip())
    except OSError as exc:
        verdict.fail(f"web1 runs but its SSH port {record.public_port(22)} does not answer ({exc}): "
                     "check `systemctl status ssh` inside it (workshop ssh web1)")


@check(CHAPTER, "ssh-key-login", "SSH lets you in with your key, and only with a key", points=2, stands_on=())
def ssh_key_login(target: Target, verdict: Verdict) -> None:
    stack = target.require_stack()
    who = target.ssh(FIRST_VM, "id -un && hostname").stdout.split()
    methods = offered_auth_methods(target.record(FIRST_VM), stack.ssh_user)
    verdict.see(user=who[0] if who else None, hostname=who[1] if len(who) > 1 else None, key=stack.ssh_key,
                auth_methods=",".join(methods))
    if who[1:2] != [FIRST_VM]:
        verdict.fail(f"the SSH endpoint of web1 answered as {who[1:2] or 'nothing'}: recreate the stack "
                     "(workshop down; workshop up web1)")
    if set(methods) != {"publickey"}:
        verdict.fail(f"web1's sshd offers {', '.join(methods)} logins: allow keys only "
                     "(PasswordAuthentication no and KbdInteractiveAuthentication no in /etc/ssh/sshd_config.d/, "
                     "then systemctl reload ssh)")


def offered_auth_methods(record, user: str) -> list[str]:
    """The authentication methods sshd offers `user`, as a client sees them before logging in."""
    transport = paramiko.Transport((record.public_host, record.public_port(22)))
    try:
        transport.banner_timeout = transport.auth_timeout = 10
        transport.start_client(timeout=10)
        transport.auth_none(user)
        return ["none"]
    except paramiko.BadAuthenticationType as exc:
        return sorted(exc.allowed_types)
    finally:
        transport.close()


@check(CHAPTER, "os-expected", f"web1 runs Debian {machine.OS_VERSION_ID} ({machine.OS_CODENAME})", points=1)
def os_expected(target: Target, verdict: Verdict) -> None:
    release = os_release(target, FIRST_VM)
    verdict.see(pretty_name=release.get("PRETTY_NAME"), id=release.get("ID"), version_id=release.get("VERSION_ID"))
    if (release.get("ID"), release.get("VERSION_ID")) != (machine.OS_ID, machine.OS_VERSION_ID):
        verdict.fail(f"web1 runs {release.get('PRETTY_NAME', 'an unknown OS')}, the course needs Debian "
                     f"{machine.OS_VERSION_ID}: recreate it from the workshop image (lab.down(); lab.up(\"web1\"))")


@check(CHAPTER, "os-name-answer", "os_name is the PRETTY_NAME web1 reports", points=1, answers=("os_name",))
def os_name_answer(target: Target, verdict: Verdict) -> None:
    answer = target.answers.get("os_name")
    actual = os_release(target, FIRST_VM).get("PRETTY_NAME")
    verdict.see(os_name=answer, pretty_name=actual)
    if answer is None:
        verdict.fail("os_name is not set: read /etc/os-release on web1 with web1.run(..., readonly=True) "
                     "and store its PRETTY_NAME value in os_name")
    elif str(answer).strip().strip('"') != actual:
        verdict.fail(f"os_name is {answer!r} but web1 reports PRETTY_NAME={actual!r}: take the value after "
                     "'PRETTY_NAME=' without the quotes")
