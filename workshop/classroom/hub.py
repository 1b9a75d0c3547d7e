"""`workshop class hub ROSTER`: the class on one shared classroom server, behind JupyterHub.

Every student gets a Unix account of their own (the stack's name, `fall-alice`), a home only
they can read, their stack's key and descriptor in ~/workshop (their WORKSHOP_HOME) and their
own JupyterLab, started by JupyterHub as that account. The instructor's class folder, with
the records grading probes, stays root's alone (0700). Students' JupyterLabs run from a
runtime of the course that every account can read (RUNTIME/course, RUNTIME/venv) and share
nbgrader's exchange (RUNTIME/exchange); they show nbgrader's Assignments and Validate, not the
instructor's panels.

    RUNTIME/.workshop-hub       marks a runtime this tool made (the only kind it deletes)
    CLASS/hub/accounts.csv      account, student, password: hand each student their line (0600)
    CLASS/hub/jupyterhub_config.py, the hub's database, cookie secret and pid files

Example::

    rows = set_up(classroom, Path("/srv/workshop/fall"), progress=Progress("hub"))
    subprocess.run(hub_command(classroom))      # serves until Ctrl-C
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from ..chapters import ROOT
from ..configs import render
from ..engine import find_engine
from ..errors import WorkshopError
from ..lab import ssh_files
from ..progress import Progress
from ..stack import Stack
from . import accounts
from .broker import Broker
from .layout import Classroom
from .roster import Student
from .provision import connection_details

COLUMNS = ["student", "account", "home", "stack", "result"]
MARKER = ".workshop-hub"
BROKER_SOCKET = "broker.sock"
#: The course's pinned proxy, installed by scripts/setup.sh.
PROXY = ROOT / ".hub-proxy/node_modules/.bin/configurable-http-proxy"
#: A Python every account may run: the students' JupyterLabs cannot use one under /root.
SYSTEM_PYTHON = Path("/usr/bin/python3.11")


def group_name(classroom: Classroom) -> str:
    return accounts.check_account_name(f"workshop-{classroom.name}"[:32])


def state_folder(classroom: Classroom) -> Path:
    return classroom.folder / "hub"


def refuse_unsafe_server() -> None:
    """A shared server needs root (it makes accounts) and podman: docker's machines are
    privileged containers, and its socket is root to whoever may use it."""
    if os.geteuid() != 0:
        raise WorkshopError("`workshop class hub` creates the students' Unix accounts: run it as root (sudo)")
    if find_engine().name == "docker":
        raise WorkshopError("The docker engine runs the course's machines as privileged containers, which a shared "
                            "classroom server must not offer its students: use podman (unset WORKSHOP_ENGINE; "
                            "`make setup` installs it)")
    if not PROXY.is_file():
        raise WorkshopError(f"JupyterHub's proxy is not installed ({PROXY}): run `make setup`")


def _readable_by_all(path: Path) -> Path | None:
    """The first folder on the way to `path` that other accounts cannot enter, if any."""
    for folder in [*reversed(path.parents), path]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def install_runtime(runtime: Path, progress: Progress) -> None:
    """The course as every student's JupyterLab runs it: a copy of its files and a venv of its
    pinned packages made with the system's Python (rebuilt only when pyproject.toml changed)."""
    runtime = runtime.resolve()
    if runtime.exists() and not (runtime / MARKER).is_file() and any(runtime.iterdir()):
        raise WorkshopError(f"{runtime} already holds files this tool did not make: choose another --runtime")
    blocked = _readable_by_all(runtime.parent)
    if blocked:
        raise WorkshopError(f"The students' accounts cannot enter {blocked}: choose a --runtime they can reach "
                            "(the default is /srv/workshop/CLASS)")
    if not SYSTEM_PYTHON.is_file():
        raise WorkshopError(f"{SYSTEM_PYTHON} is missing: `apt-get install python3.11-venv` (`make setup` does)")
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o755)
    (runtime / MARKER).write_text("made by `workshop class hub`; `workshop class down` removes it\n")
    progress.say("runtime", f"copying the course into {runtime / 'course'}")
    _copy_course(runtime / "course")
    venv, stamp = runtime / "venv", runtime / "venv/.installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not (stamp.is_file() and stamp.read_text() == wanted):
        progress.say("runtime", f"installing the course's packages into {venv} (about a minute)")
        subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
        result = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--editable", str(runtime / "course")],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise WorkshopError(f"Installing the course into {venv} failed:\n{result.stderr.strip()[-2000:]}")
        stamp.write_text(wanted)
    exchange = runtime / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)  # nbgrader's exchange: every student drops submissions there
    config = venv / "etc/jupyter/nbgrader_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(render("jupyterhub/nbgrader_config.py.j2", exchange=exchange))


def _copy_course(target: Path) -> None:
    """The repository's files as git lists them (tracked, and new ones not ignored); without git,
    everything but local state."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True)
    if target.exists():
        shutil.rmtree(target)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            source = ROOT / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
            ".git", ".venv*", ".hub-proxy", "__pycache__", "*.egg-info", ".nbgrader-exchange", "*-class"))
    subprocess.run(["chmod", "-R", "go+rX,go-w", str(target)], check=True)


def student_files(classroom: Classroom, student: Student, stack: Stack | None,
                  home: Path) -> dict[str, tuple[bytes, int]]:
    """What goes into the student's home: their stack's key, descriptor and ssh files, with the
    paths of their own copy (the instructor's stay in the class folder), and CONNECT.txt."""
    if stack is None:
        return {}
    folder = home / "workshop/stacks" / stack.name
    key = Path(stack.ssh_key)
    own = Stack.from_dict({**stack.to_dict(), "ssh_key": str(folder / key.name), "copies": []}, home / "workshop")
    files = {f"workshop/stacks/{stack.name}/{key.name}": (key.read_bytes(), 0o600),
             f"workshop/stacks/{stack.name}/{key.name}.pub": (key.with_suffix(".pub").read_bytes(), 0o644),
             f"workshop/stacks/{stack.name}/stack.json": (
                 (json.dumps(own.to_dict(), indent=2, sort_keys=True) + "\n").encode(), 0o600)}
    for name, text in ssh_files(own, folder).items():
        files[f"workshop/stacks/{stack.name}/{name}"] = (text.encode(), 0o600)
    files["workshop/CONNECT.txt"] = (connection_details(classroom, student, own, home / "workshop").encode(), 0o644)
    return files


def set_up(classroom: Classroom, runtime: Path, ip: str = "127.0.0.1", port: int = 8000,
           progress: Progress | None = None) -> list[dict]:
    """Accounts, homes, the runtime and the hub's configuration; one row per student."""
    progress = progress or Progress(f"class {classroom.name} hub")
    refuse_unsafe_server()
    classroom.save()
    classroom.folder.chmod(0o700)  # the instructor's records, keys and gradebook: root's alone
    state = state_folder(classroom)
    state.mkdir(mode=0o700, exist_ok=True)
    install_runtime(runtime, progress)
    (state / "runtime").write_text(f"{runtime.resolve()}\n")
    group = group_name(classroom)
    accounts.ensure_group(group)
    passwords = _saved_passwords(state)
    rows, students = [], {}
    for student in classroom.students:
        name = accounts.check_account_name(classroom.stack_name(student))
        row = {"student": student.id, "account": name, "stack": classroom.stack_name(student)}
        try:
            created = accounts.ensure_account(name, student.name, group)
            if created or name not in passwords:
                passwords[name] = secrets.token_urlsafe(9)
                accounts.set_password(name, passwords[name])
            stack = classroom.stack(student)
            home = accounts.home(name)
            accounts.hand_over(name, student_files(classroom, student, stack, home))
        except WorkshopError as exc:
            rows.append({**row, "home": "-", "result": f"failed: {exc}"})
            continue
        students[name] = {"id": student.id, "stack": classroom.stack_name(student)}
        rows.append({**row, "home": str(home), "result": ("created" if created else "updated")
                     + ("" if stack else "; no stack yet (`workshop class up` first)")})
        progress.say(student.id, f"account {name}: {rows[-1]['result']}")
    _save_passwords(state, passwords, classroom)
    (state / "jupyterhub_config.py").write_text(render(
        "jupyterhub/jupyterhub_config.py.j2", class_name=classroom.name, runtime=runtime.resolve(), state=state,
        students_json=json.dumps(students, sort_keys=True), ip=ip, port=port, hub_port=port + 1,
        proxy_api_port=port + 2, proxy_command=str(PROXY), broker=runtime.resolve() / BROKER_SOCKET))
    progress.done(f"{len(students)} of {len(rows)} accounts ready; passwords in {state / 'accounts.csv'}")
    return rows


def _saved_passwords(state: Path) -> dict[str, str]:
    path = state / "accounts.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["account"]: row["password"] for row in csv.DictReader(handle)}


def _save_passwords(state: Path, passwords: dict[str, str], classroom: Classroom) -> None:
    path = state / "accounts.csv"
    path.touch(mode=0o600, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "student", "password"])
        for student in classroom.students:
            name = classroom.stack_name(student)
            if name in passwords:
                writer.writerow([name, student.id, passwords[name]])


def _hub_made(classroom: Classroom) -> bool:
    """Whether `set_up` ran for the class (it records the runtime it made)."""
    return (state_folder(classroom) / "runtime").is_file()


def account_owners(classroom: Classroom) -> dict[str, int]:
    """Each student's account uid by roster id, once `set_up` made them (else empty: everything
    in a single-user exchange is written by one account, and nothing can be told apart)."""
    if not _hub_made(classroom):
        return {}
    return {student.id: accounts.uid(classroom.stack_name(student)) for student in classroom.students
            if accounts.exists(classroom.stack_name(student))}


def student_homes(classroom: Classroom) -> dict[str, Path]:
    """Each student's own WORKSHOP_HOME by roster id once `set_up` made their account (~/workshop:
    the descriptor beside their notebooks keeps its key there, not in the class folder); else empty."""
    if not _hub_made(classroom):
        return {}
    return {student.id: accounts.home(classroom.stack_name(student)) / "workshop" for student in classroom.students
            if accounts.exists(classroom.stack_name(student))}


def hub_command(classroom: Classroom) -> list[str]:
    """The JupyterHub of the class, as `set_up` configured it (it runs until stopped)."""
    runtime_of(classroom)  # refuses a class without a hub
    config = state_folder(classroom) / "jupyterhub_config.py"
    return [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(config)]


def runtime_of(classroom: Classroom) -> Path:
    if not _hub_made(classroom):
        raise WorkshopError(f"No hub is set up for class {classroom.name}: run `workshop class hub ROSTER` first")
    return Path((state_folder(classroom) / "runtime").read_text().strip())


@contextmanager
def broker_running(classroom: Classroom):
    """The class's machine broker (broker.py) serving at RUNTIME/broker.sock while in the block."""
    path = runtime_of(classroom) / BROKER_SOCKET
    broker = Broker(classroom, path)
    thread = threading.Thread(target=broker.serve_forever, name="broker", daemon=True)
    thread.start()
    try:
        yield path
    finally:
        broker.shutdown()
        broker.server_close()
        path.unlink(missing_ok=True)


def serve(classroom: Classroom) -> int:
    """JupyterHub and the machine broker, until JupyterHub stops (Ctrl-C)."""
    with broker_running(classroom):
        try:
            return subprocess.run(hub_command(classroom), cwd=state_folder(classroom)).returncode
        except KeyboardInterrupt:
            return 0


def tear_down(classroom: Classroom) -> list[str]:
    """Remove the class's accounts (and their homes), its group and its runtime: only what
    `set_up` made. Returns what was removed."""
    if not _hub_made(classroom):
        return []
    runtime = runtime_of(classroom)
    group, removed = group_name(classroom), []
    for student in classroom.students:
        name = classroom.stack_name(student)
        if accounts.exists(name) and name in accounts.members(group):
            accounts.remove_account(name, group)
            removed.append(f"account {name}")
    accounts.remove_group(group)
    if (runtime / MARKER).is_file():
        shutil.rmtree(runtime)
        removed.append(f"runtime {runtime}")
    shutil.rmtree(state_folder(classroom))
    return removed
