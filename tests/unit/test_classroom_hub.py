"""A classroom server's set-up without making accounts: what it refuses (docker, no root, an
account that is not the class's, a runtime folder students cannot enter or that holds other
files), what a student's copy of their stack holds, and the provider a student's account sees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import HOST_KEY
from workshop.classroom import accounts, hub
from workshop.classroom.collect import refuse_impersonations
from workshop.classroom.layout import Classroom
from workshop.configs import render
from workshop.errors import WorkshopError
from workshop.providers import RUNNING, STOPPED, get_provider
from workshop.providers.instructor_managed import InstructorManaged
from workshop.stack import InstanceRecord, Stack


class FakeEngine:
    def __init__(self, name):
        self.name = name


def test_a_shared_server_refuses_the_docker_engine(monkeypatch):
    monkeypatch.setattr(hub.os, "geteuid", lambda: 0)
    monkeypatch.setattr(hub, "find_engine", lambda: FakeEngine("docker"))
    with pytest.raises(WorkshopError, match="privileged containers.*use podman"):
        hub.refuse_unsafe_server()


def test_a_shared_server_needs_root(monkeypatch):
    monkeypatch.setattr(hub.os, "geteuid", lambda: 1000)
    with pytest.raises(WorkshopError, match="run it as root"):
        hub.refuse_unsafe_server()


@pytest.mark.parametrize("name", ["Alice", "1fall-alice", "fall_alice", "a" * 33, "fall;id"])
def test_account_names_are_refused_unless_safe_everywhere(name):
    with pytest.raises(WorkshopError, match="cannot be a Unix account name"):
        accounts.check_account_name(name)


def test_an_existing_account_outside_the_class_is_never_taken_over(monkeypatch):
    monkeypatch.setattr(accounts, "exists", lambda name: True)
    monkeypatch.setattr(accounts, "members", lambda group: {"fall-bob"})
    with pytest.raises(WorkshopError, match="already exists and is not one of this class's"):
        accounts.ensure_account("fall-alice", "Alice", "workshop-fall")


def test_the_runtime_must_be_reachable_by_every_account(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(WorkshopError, match="The students' accounts cannot enter /"):
        hub.install_runtime(closed / "runtime", progress=None)


def test_a_runtime_folder_holding_other_files_is_refused(tmp_path):
    tmp_path.chmod(0o755)
    (tmp_path / "notes.txt").write_text("the instructor's")
    with pytest.raises(WorkshopError, match="holds files this tool did not make"):
        hub.install_runtime(tmp_path, progress=None)


def _class_stack(tmp_path: Path) -> tuple[Classroom, Stack]:
    roster = tmp_path / "fall.csv"
    roster.write_text("id,name\nalice,Alice Martin\n")
    classroom = Classroom.open(roster)
    folder = classroom.stack_folder(classroom.students[0])
    folder.mkdir(parents=True)
    (folder / "id_ed25519").write_text("PRIVATE KEY\n")
    (folder / "id_ed25519.pub").write_text("ssh-ed25519 AAAA fall-alice\n")
    record = InstanceRecord(name="web1", role="web", private_ip="10.77.0.11", public_host="127.0.0.1",
                            ports={"22": 40022, "80": 40080}, provider_id="c0ffee", host_key=HOST_KEY)
    data = Stack(name="fall-alice", provider="local", ssh_user="root", ssh_key=str(folder / "id_ed25519"),
                 network={"subnet": "10.77.0.0/24"}, instances={"web1": record},
                 copies=[str(tmp_path / "notebooks/workshop-stack.json")]).to_dict()
    return classroom, Stack.from_dict(data, classroom.home(classroom.students[0]))


def test_a_students_copy_points_at_their_own_home_not_the_instructors(tmp_path):
    classroom, stack = _class_stack(tmp_path)
    home = Path("/home/fall-alice")
    files = hub.student_files(classroom, classroom.students[0], stack, home)
    folder = "workshop/stacks/fall-alice"
    assert files[f"{folder}/id_ed25519"] == (b"PRIVATE KEY\n", 0o600)
    assert files[f"{folder}/id_ed25519.pub"] == (b"ssh-ed25519 AAAA fall-alice\n", 0o644)
    descriptor = json.loads(files[f"{folder}/stack.json"][0])
    assert descriptor["ssh_key"] == f"/home/fall-alice/{folder}/id_ed25519"
    assert descriptor["copies"] == []  # the instructor's notebook folders are not the student's
    config = files[f"{folder}/ssh_config"][0].decode()
    assert f"IdentityFile /home/fall-alice/{folder}/id_ed25519" in config
    assert f"UserKnownHostsFile /home/fall-alice/{folder}/known_hosts" in config
    assert str(classroom.folder) not in files["workshop/CONNECT.txt"][0].decode()


def test_the_hub_configuration_compiles_and_names_each_students_stack(tmp_path):
    text = render("jupyterhub/jupyterhub_config.py.j2", class_name="fall", runtime=Path("/srv/workshop/fall"),
                  state=tmp_path, students_json=json.dumps({"fall-alice": {"id": "alice", "stack": "fall-alice"}}),
                  ip="127.0.0.1", port=8000, hub_port=8001, proxy_api_port=8002, proxy_command="/x/chp",
                  broker="/srv/workshop/fall/broker.sock")
    compile(text, "jupyterhub_config.py", "exec")
    assert 'c.Spawner.cmd = ["/srv/workshop/fall/venv/bin/jupyterhub-singleuser"]' in text
    assert '"JUPYTER_CONFIG_PATH": "/srv/workshop/fall/course/configs/jupyterlab/student"' in text


def test_a_students_account_sees_its_machines_without_the_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_CLASS_ACCOUNT", "1")
    provider = get_provider("local")
    assert isinstance(provider, InstructorManaged)
    _, stack = _class_stack(tmp_path)
    assert provider.states(stack) == {"web1": STOPPED}  # nothing listens on that port
    with pytest.raises(WorkshopError, match="ask your instructor"):
        provider.start(stack, "web1", progress=None)
    monkeypatch.setattr("workshop.providers.instructor_managed.ssh_answers", lambda host, port, timeout: None)
    assert provider.states(stack) == {"web1": RUNNING}


def test_a_submission_written_by_another_account_is_set_aside(tmp_path):
    import os

    inbound = tmp_path / "exchange/course/inbound"
    for name in ("alice+01-getting-started+2026-12-02 10:00:00.000000 UTC", "bob+01-getting-started+2026-12-02"):
        (inbound / name).mkdir(parents=True)
    me = os.getuid()
    refused = refuse_impersonations(inbound, {"alice": me + 1, "bob": me})
    assert list(refused) == ["alice"] and f"written by uid {me}, not by alice's account" in refused["alice"]
    assert sorted(p.name for p in inbound.iterdir()) == ["bob+01-getting-started+2026-12-02"]
    assert (tmp_path / "exchange/course/refused").stat().st_mode & 0o777 == 0o700
    assert refuse_impersonations(inbound, {}) == {}  # no accounts: a single-user exchange is left alone


def test_a_submission_holding_a_symbolic_link_is_set_aside(tmp_path):
    import os

    inbound = tmp_path / "exchange/course/inbound"
    entry = inbound / "bob+01-getting-started+2026-12-02"
    entry.mkdir(parents=True)
    (entry / "notes.txt").symlink_to("/home/fall-alice/workshop/stacks/fall-alice/id_ed25519")
    refused = refuse_impersonations(inbound, {"bob": os.getuid()})
    assert "symbolic link (bob+01-getting-started+2026-12-02/notes.txt)" in refused["bob"]
    assert not any(inbound.iterdir())


@pytest.fixture
def broker(tmp_path):
    """The class's broker on a socket in tmp_path, serving in a thread."""
    import threading

    from workshop.classroom.broker import Broker

    roster = tmp_path / "fall.csv"
    roster.write_text("id,name\nalice,Alice Martin\n")
    server = Broker(Classroom.open(roster), tmp_path / "broker.sock")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, tmp_path / "broker.sock"
    server.shutdown()
    server.server_close()


def test_the_broker_answers_only_the_classs_accounts(broker):
    import pwd

    from workshop.classroom.broker import ask

    _, path = broker
    me = pwd.getpwuid(__import__("os").getuid()).pw_name
    with pytest.raises(WorkshopError, match=f"account {me} is not a student of class fall"):
        ask(path, "states")


@pytest.mark.parametrize("verb, name, said", [
    ("destroy", "web1", "the broker does not 'destroy'"),
    ("kill", "web1;reboot", "web1;reboot"),
    ("states", "", "your stack has not been made yet"),
])
def test_the_broker_does_the_verbs_of_a_students_own_stack_only(broker, verb, name, said):
    import os
    import pwd

    from workshop.classroom.broker import ask

    server, path = broker
    server.students = {pwd.getpwuid(os.getuid()).pw_name: server.classroom.students[0]}  # this test plays alice
    with pytest.raises(WorkshopError, match=re.escape(said)):
        ask(path, verb, name)


def test_a_student_without_a_broker_is_told_who_starts_machines(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_CLASS_ACCOUNT", "1")
    monkeypatch.delenv("WORKSHOP_CLASS_BROKER", raising=False)
    _, stack = _class_stack(tmp_path)
    with pytest.raises(WorkshopError, match="ask your instructor"):
        get_provider("local").kill(stack, "web1")
