"""A shared classroom server, end to end: `workshop class hub` gives two students a Unix
account each; both log in to JupyterHub with their own password and get a JupyterLab running
as their own account, showing the student's nbgrader panels only; neither can read the
other's files or the instructor's class folder; each works on their own stack with their
own copy of its key, and a machine only the instructor may start says so. Teardown removes
the accounts, the group and the runtime it made, and the stacks."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import unique_stack_name
from workshop.classroom import accounts
from workshop.classroom.hub import broker_running, hub_command, set_up, state_folder, tear_down
from workshop.classroom.layout import Classroom
from workshop.classroom.provision import down, up
from workshop.progress import Progress
from workshop.waiting import no_error, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="a classroom server's set-up creates Unix accounts: root only")]


def _free_port_triple() -> int:
    """A port whose next two are free too (the hub's own API and the proxy's)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65500 and all(_free(port + offset) for offset in (1, 2)):
            return port
    raise RuntimeError("no three consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def hub(workshop_home, workshop_image, tmp_path_factory):
    """Two students with web1 each, their accounts, and the class's JupyterHub serving."""
    # Every account may enter this folder: what keeps a student out of the class folder and the
    # runtime's insides is their own mode, as on a real server, not pytest's private tmp folder.
    folder = Path(tempfile.mkdtemp(prefix="workshop-hub-", dir="/tmp"))
    folder.chmod(0o755)
    roster = folder / "roster.csv"
    roster.write_text("id,name\nalice,Alice Martin\nbob,Bob Chen\n")
    classroom = Classroom.open(roster, name=unique_stack_name("hub"))
    runtime = folder / "runtime"
    port = _free_port_triple()
    process, broker = None, None
    try:
        rows = up(classroom, ["web1"], progress=Progress("hub class up", quiet=True))
        assert [row["result"] for row in rows] == ["up", "up"], rows
        rows = set_up(classroom, runtime, port=port)
        assert [row["result"] for row in rows] == ["created", "created"], rows
        broker = broker_running(classroom)
        socket_path = broker.__enter__()
        log_path = tmp_path_factory.mktemp("hub-log") / "jupyterhub.log"  # kept after the run, for a failure
        log = log_path.open("w")
        process = subprocess.Popen(hub_command(classroom), cwd=state_folder(classroom), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{base}/hub/health", timeout=5).raise_for_status(), 60, 1,
                   done=no_error, retry_on=(requests.RequestException,))
        yield {"classroom": classroom, "base": base, "runtime": runtime, "log": log_path,
               "broker": socket_path}
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if broker is not None:
            broker.__exit__(None, None, None)
        tear_down(classroom)
        down(classroom, progress=Progress("hub class down", quiet=True))
        shutil.rmtree(folder, ignore_errors=True)
        for student in classroom.students:
            assert not accounts.exists(classroom.stack_name(student))


def _passwords(classroom: Classroom) -> dict[str, str]:
    lines = (state_folder(classroom) / "accounts.csv").read_text().splitlines()[1:]
    return {line.split(",")[0]: line.split(",")[2] for line in lines}


def log_in(base: str, account: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/hub/login", timeout=10)
    session.post(f"{base}/hub/login", data={"username": account, "password": password,
                                            "_xsrf": session.cookies.get("_xsrf", "")}, timeout=30)
    return session


def wait_for_lab(session: requests.Session, base: str, account: str) -> None:
    """The student's JupyterLab serves its page (JupyterHub spawns it at login; the first page
    also completes the OAuth handshake that lets the session use the server's API)."""
    started = time.monotonic()

    def answers() -> None:
        response = session.get(f"{base}/user/{account}/lab", timeout=30)
        print(f"[{time.monotonic() - started:5.1f}s] {account}: HTTP {response.status_code} at {response.url}")
        if response.status_code != 200 or f"/user/{account}/lab" not in response.url:
            raise requests.HTTPError(f"HTTP {response.status_code} at {response.url}")
    wait_until(answers, 120, 1, done=no_error, retry_on=(requests.RequestException,))


def as_account(account: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", account, "--", *command], capture_output=True, text=True, timeout=120,
                          cwd=accounts.home(account))  # where a student's terminal starts


def test_each_student_logs_in_to_a_jupyterlab_of_their_own_account(hub):
    classroom, base = hub["classroom"], hub["base"]
    passwords = _passwords(classroom)
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    sessions = {}
    for account in (alice, bob):
        sessions[account] = log_in(base, account, passwords[account])
        wait_for_lab(sessions[account], base, account)
    for account in (alice, bob):
        process = subprocess.run(["pgrep", "-u", account, "-f", "jupyterhub-singleuser"], capture_output=True, text=True)
        assert process.returncode == 0, f"no JupyterLab runs as {account}:\n{hub['log'].read_text()[-3000:]}"
        environ = Path(f"/proc/{process.stdout.split()[0]}/environ").read_bytes().split(b"\0")
        assert f"WORKSHOP_STACK={account}".encode() in environ
        listing = sessions[account].get(f"{base}/user/{account}/api/contents/workshop", timeout=10).json()
        assert {"CONNECT.txt", "stacks"} <= {entry["name"] for entry in listing["content"]}
    # One student's login does not open the other's JupyterLab, and a wrong password opens nothing.
    assert sessions[alice].get(f"{base}/user/{bob}/api/contents", timeout=10, allow_redirects=False).status_code != 200
    stranger = log_in(base, alice, "not-" + passwords[alice])
    assert stranger.get(f"{base}/user/{alice}/api/contents", timeout=10, allow_redirects=False).status_code != 200


def test_a_students_jupyterlab_shows_the_student_panels_of_nbgrader_only(hub):
    classroom, base = hub["classroom"], hub["base"]
    alice = classroom.stack_name(classroom.students[0])
    session = log_in(base, alice, _passwords(classroom)[alice])
    wait_for_lab(session, base, alice)
    page = session.get(f"{base}/user/{alice}/lab", timeout=30).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    disabled = config["disabledExtensions"]
    assert {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader"} <= set(disabled)
    assert "@jupyter/nbgrader:assignment-list" not in disabled
    assert session.get(f"{base}/user/{alice}/formgrader", timeout=10).status_code == 404
    listed = session.get(f"{base}/user/{alice}/assignments", params={"course_id": "django-deployment-workshop"}, timeout=30)
    assert listed.status_code == 200, listed.text  # the student panels stay: Assignments answers


def test_students_cannot_read_each_other_or_the_instructors_records(hub):
    classroom = hub["classroom"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    bobs_key = accounts.home(bob) / "workshop/stacks" / bob / "id_ed25519"
    for path in (bobs_key, accounts.home(bob), classroom.folder, state_folder(classroom) / "accounts.csv"):
        result = as_account(alice, "cat" if path.is_file() else "ls", str(path))
        assert result.returncode != 0 and "Permission denied" in result.stderr, (path, result)


def test_a_student_works_on_their_own_stack_and_asks_the_broker_for_machines(hub):
    classroom, runtime = hub["classroom"], hub["runtime"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    home = accounts.home(alice) / "workshop"
    env = ["env", f"WORKSHOP_HOME={home}", f"WORKSHOP_STACK={alice}", "WORKSHOP_CLASS_ACCOUNT=1"]
    workshop = str(runtime / "venv/bin/workshop")
    status = as_account(alice, *env, workshop, "status")
    assert status.returncode == 0 and re.search(r"web1\s+\S+\s+running", status.stdout), status
    ssh = as_account(alice, "ssh", "-F", str(home / "stacks" / alice / "ssh_config"), "web1", "hostname")
    assert ssh.returncode == 0, ssh.stderr
    # Without the broker, what only root's engine can do says whose it is...
    refused = as_account(alice, *env, workshop, "up", "db1")
    assert refused.returncode != 0 and "ask your instructor" in refused.stdout + refused.stderr, refused
    # ... and with it, the student starts a machine of their own stack, recorded on both sides.
    started = as_account(alice, *env, f"WORKSHOP_CLASS_BROKER={hub['broker']}", workshop, "up", "db1")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "db1" in classroom.stack(classroom.students[0]).instances
    assert "db1" not in classroom.stack(classroom.students[1]).instances
    ssh = as_account(alice, "ssh", "-F", str(home / "stacks" / alice / "ssh_config"), "db1", "hostname")
    assert ssh.returncode == 0, ssh.stderr
    # The engine itself stays out of reach: root's containers and their storage are root's.
    storage = as_account(alice, "ls", "/var/lib/containers/storage")
    assert storage.returncode != 0 and "Permission denied" in storage.stderr, storage


def test_a_submission_in_another_students_name_is_refused_at_collect(hub):
    classroom, runtime = hub["classroom"], hub["runtime"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    exchange = runtime / "exchange"
    roster = classroom.folder.parent / "roster.csv"
    cli = [str(Path(os.sys.executable)), "-m", "workshop.cli", "class"]
    common = ["--name", classroom.name, "--exchange", str(exchange)]
    released = subprocess.run([*cli, "release", str(roster), "01-getting-started", *common], capture_output=True,
                              text=True, timeout=300)
    assert released.returncode == 0, released.stderr
    nbgrader = str(runtime / "venv/bin/nbgrader")
    for account, student_id, claimed in ((alice, "alice", "alice"), (bob, "bob", "alice")):
        home = accounts.home(account)
        steps = [[nbgrader, "fetch_assignment", "01-getting-started"],
                 ["touch", f"01-getting-started/{account}.txt"],  # who made the folder that gets graded
                 [nbgrader, "submit", "01-getting-started", f"--student={claimed}"]]
        for step in steps:
            done = subprocess.run(["runuser", "-u", account, "--", "env", f"HOME={home}",
                                   f"WORKSHOP_STUDENT_ID={student_id}", *step], cwd=home, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, (account, step, done.stdout, done.stderr)
    collected = subprocess.run([*cli, "collect", str(roster), "01-getting-started", *common], capture_output=True,
                               text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr
    rows = {line.split()[0]: line for line in collected.stdout.splitlines()[2:] if line.strip()}
    assert re.search(r"alice\s+01-getting-started\s+yes\s+refused alice\+01-getting-started\+", rows["alice"])
    assert "not by alice's account" in rows["alice"]
    submitted = classroom.course_root / "submitted/alice/01-getting-started"
    assert (submitted / f"{alice}.txt").is_file() and not (submitted / f"{bob}.txt").exists()
    assert (exchange / "django-deployment-workshop/refused").is_dir()
