"""Chapter 01's checks on a scripted stack: each passes on a healthy first VM and names the fix when broken."""

import socket
import threading

import pytest

from grader import getting_started
from grader.result import PASSED

from .kit import assert_hint, check_ids, run

CHAPTER = "01-getting-started"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'


@pytest.fixture
def sshd():
    """A TCP port that greets like sshd; its number."""
    server = socket.create_server(("127.0.0.1", 0))

    def greet():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    greeter = threading.Thread(target=greet)
    greeter.start()
    yield server.getsockname()[1]
    server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() up, so the port closes for good
    server.close()
    greeter.join()


@pytest.fixture
def healthy(target, sshd, monkeypatch):
    target.stack.instances["web1"].ports["22"] = sshd
    target.on_ssh("web1", "id -un && hostname", "root\nweb1\n")
    target.facts("web1").files["/etc/os-release"] = OS_RELEASE
    monkeypatch.setattr(getting_started, "offered_auth_methods", lambda record, user: ["publickey"])
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_on_a_healthy_first_vm(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, os_name="Debian GNU/Linux 12 (bookworm)")
    assert (result.status, result.hints) == (PASSED, [])


def test_a_stopped_vm(healthy):
    healthy.states["web1"] = "stopped"
    assert_hint(run(healthy, CHAPTER, "instance-running"), 'web1 is stopped: start it with lab.up("web1")')


def test_an_ssh_port_that_does_not_answer(healthy):
    closed = socket.create_server(("127.0.0.1", 0))
    healthy.stack.instances["web1"].ports["22"] = closed.getsockname()[1]
    closed.close()
    assert_hint(run(healthy, CHAPTER, "instance-running"), "does not answer")


def test_an_ssh_endpoint_of_another_machine(healthy):
    healthy.on_ssh("web1", "id -un && hostname", "root\ndb1\n")
    assert_hint(run(healthy, CHAPTER, "ssh-key-login"), "the SSH endpoint of web1 answered as ['db1']")


def test_sshd_that_accepts_passwords(healthy, monkeypatch):
    monkeypatch.setattr(getting_started, "offered_auth_methods", lambda record, user: ["password", "publickey"])
    assert_hint(run(healthy, CHAPTER, "ssh-key-login"), "web1's sshd offers password, publickey logins")


def test_a_machine_that_is_not_debian_12(healthy):
    healthy.facts("web1").files["/etc/os-release"] = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n'
    assert_hint(run(healthy, CHAPTER, "os-expected"), "web1 runs Ubuntu 24.04 LTS, the course needs Debian 12")


def test_a_machine_without_os_release(healthy):
    del healthy.facts("web1").files["/etc/os-release"]
    assert_hint(run(healthy, CHAPTER, "os-expected"), "web1 runs an unknown OS")


def test_os_name_not_set(healthy):
    assert_hint(run(healthy, CHAPTER, "os-name-answer", os_name=None), "os_name is not set")


def test_os_name_wrong(healthy):
    assert_hint(run(healthy, CHAPTER, "os-name-answer", os_name="Debian 12"),
                "os_name is 'Debian 12' but web1 reports PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'")

