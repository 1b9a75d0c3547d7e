"""`workshop class up|status|down`: a stack per student, in parallel, with progress
and a summary table; teardown that proves nothing is left.

Each student's stack is made by the same `workshop` command a student would
run, in the student's own WORKSHOP_HOME (see layout.py), so a class stack is
an ordinary stack: the student can resume, inspect or catch it up alone.

Example::

    rows = up(classroom, instances=["web1"])
    print(format_table(rows, UP_COLUMNS))
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import grading
from ..errors import DescriptorError, WorkshopError
from ..progress import Progress
from ..providers import RUNNING, get_provider, provider_name
from ..remote import Remote
from ..stack import Stack
from .capacity import inotify_shortfall
from .layout import Classroom
from .reach import unreachable
from .roster import Student

UP_COLUMNS = ["student", "stack", "machines", "result", "seconds"]
STATUS_COLUMNS = ["student", "name", "stack", "provider", "machines", "ssh", "address"]
DOWN_COLUMNS = ["student", "stack", "removed", "left", "result"]
#: The child's own "[  3.2s] " prefix: ours already times each line.
_CHILD_CLOCK = re.compile(r"^\[\s*[0-9.]+s\] ")
#: A catch-up to a late chapter takes minutes; a stuck one must not hang the class.
COMMAND_TIMEOUT = 1800


def run_workshop(classroom: Classroom, student: Student, args: list[str], progress: Progress) -> tuple[int, list[str]]:
    """Run `workshop --stack STACK ARGS` for `student` in their folder; echo its lines as progress."""
    home = classroom.home(student)
    home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "workshop.cli", "--stack", classroom.stack_name(student), *args]
    lines: list[str] = []
    with subprocess.Popen(command, cwd=home, env=classroom.env(student), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True) as process:
        watchdog = threading.Timer(COMMAND_TIMEOUT, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:
                lines.append(line.rstrip())
                progress.say(student.id, _CHILD_CLOCK.sub("", line.rstrip()))
        finally:
            watchdog.cancel()
        code = process.wait()
    if code < 0:
        lines.append(f"`workshop {' '.join(args)}` was stopped after {COMMAND_TIMEOUT}s")
    return code, lines


@grading.changes("class {classroom.name} up", fallback=lambda **_: [])
def up(classroom: Classroom, instances: list[str] | None = None, catch_up: str | None = None,
       parallel: int = 2, progress: Progress | None = None) -> list[dict]:
    """Start each student's machines (or catch their stacks up to a chapter), add their own
    SSH key, write their connection details; one row per student, failures included."""
    progress = progress or Progress(f"class {classroom.name} up")
    if provider_name() == "local":
        shortfall = inotify_shortfall(len(classroom.students))
        if shortfall:
            progress.say("capacity", f"warning: {shortfall}")
    classroom.save()
    args = ["catch-up", catch_up] if catch_up else ["up", *(instances or ["web1"])]

    def one(student: Student) -> dict:
        started = time.monotonic()
        code, lines = run_workshop(classroom, student, args, progress)
        row = {"student": student.id, "stack": classroom.stack_name(student),
               "seconds": f"{time.monotonic() - started:.0f}"}
        try:
            stack = classroom.stack(student)
        except DescriptorError as exc:
            return {**row, "machines": "-", "result": f"failed: {exc}"}
        row["machines"] = ", ".join(stack.instances) if stack else "-"
        if code != 0:
            return {**row, "result": f"failed: {_last_words(lines)}"}
        try:
            if student.public_key:
                authorize_key(stack, student.public_key)
            write_connection_details(classroom, student, stack)
        except WorkshopError as exc:
            return {**row, "result": f"failed: {exc}"}
        return {**row, "result": "up"}

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        rows = list(pool.map(one, classroom.students))
    progress.done(f"{sum(row['result'] == 'up' for row in rows)} of {len(rows)} stacks up")
    return rows


def _last_words(lines: list[str]) -> str:
    said = [line for line in lines if line.strip()]
    return said[-1].removeprefix("workshop: ") if said else "no output"


def authorize_key(stack: Stack, public_key: str) -> None:
    """Let the student's own key log in to every machine too (idempotent)."""
    quoted = shlex.quote(public_key)
    for name in stack.instances:
        remote = Remote.to(stack, name)
        try:
            remote.run(f"install -d -m 700 ~/.ssh && touch ~/.ssh/authorized_keys && "
                       f"(grep -qxF {quoted} ~/.ssh/authorized_keys || echo {quoted} >> ~/.ssh/authorized_keys)",
                       timeout=30, check=True)
        finally:
            remote.close()


def write_connection_details(classroom: Classroom, student: Student, stack: Stack) -> Path:
    """CONNECT.txt in the student's folder: machines, how to log in, how to work on the stack."""
    path = classroom.home(student) / "CONNECT.txt"
    path.write_text(connection_details(classroom, student, stack, classroom.home(student)))
    return path


def connection_details(classroom: Classroom, student: Student, stack: Stack, home: Path) -> str:
    """What CONNECT.txt says for the stack's files under `home` (the class folder's copy, or the
    student's own on a classroom server)."""
    ssh_config = home / "stacks" / stack.name / "ssh_config"
    machines = [f"  {r.name:<9} {r.role:<7} private {r.private_ip:<14} ssh {r.public_host}:{r.ports.get('22', '-')}"
                + (f"  http://{r.public_host}:{r.ports['80']}/" if "80" in r.ports else "")
                for r in stack.instances.values()]
    first = next(iter(stack.instances), "web1")
    lines = [
        f"Workshop stack of {student.name} ({student.id}), class {classroom.name}",
        "",
        f"Stack {stack.name} on provider {stack.provider}; machines when this was written:",
        *machines,
        "",
        "Log in to a machine:",
        f"  ssh -F {ssh_config} {first}",
    ]
    if student.public_key:
        record = stack.instances[first]
        lines.append(f"  or with your own key: ssh -p {record.ports.get('22')} {stack.ssh_user}@{record.public_host}")
    lines += [
        "",
        "Work on this stack from a terminal or JupyterLab on this machine:",
        f"  export WORKSHOP_HOME={home} WORKSHOP_STACK={stack.name}",
        "  workshop status",
        "",
        f"Keep a copy of {home / 'workshop-stack.json'} beside your exercise notebooks",
        "(open_lab() puts one there): the grader finds your machines through it.",
    ]
    if student.address:
        lines += ["", f"Registered workstation address: {student.address}"]
    return "\n".join(lines) + "\n"


def status(classroom: Classroom, parallel: int = 8) -> list[dict]:
    """One row per student: machines running, whether SSH answers (bounded), read-only."""
    def one(student: Student) -> dict:
        row = {"student": student.id, "name": student.name, "stack": classroom.stack_name(student),
               "address": student.address or "-"}
        try:
            stack = classroom.stack(student)
        except DescriptorError as exc:
            return {**row, "provider": "-", "machines": "-", "ssh": str(exc)}
        if stack is None:
            return {**row, "provider": "-", "machines": "not created", "ssh": "-"}
        states = get_provider(stack.provider).states(stack)
        running = sum(states.get(name) == RUNNING for name in stack.instances)
        problem = unreachable(stack)
        return {**row, "provider": stack.provider, "machines": f"{running}/{len(stack.instances)} running",
                "ssh": "reachable" if problem is None else "unreachable"}

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, classroom.students))


@grading.changes("class {classroom.name} down", fallback=lambda **_: [])
def down(classroom: Classroom, parallel: int = 2, progress: Progress | None = None) -> list[dict]:
    """Delete every student's stack, check the provider holds nothing of it, remove the
    student folders; keep the course (grades, feedback). One row per student."""
    progress = progress or Progress(f"class {classroom.name} down")

    def one(student: Student) -> dict:
        try:
            stack = classroom.stack(student) or _label_only(classroom.stack_name(student))
        except DescriptorError:  # what carries the stack's label is found without it
            stack = _label_only(classroom.stack_name(student))
        code, lines = run_workshop(classroom, student, ["down", "--yes"], progress)
        removed = sum(line.strip().startswith("removed ") for line in lines)
        left = get_provider(stack.provider).leftovers(stack)
        if not left:
            shutil.rmtree(classroom.home(student), ignore_errors=True)
        result = "gone" if not left else "LEFT BEHIND"
        if code != 0 and not left and removed == 0:
            result = "nothing to remove"
        return {"student": student.id, "stack": stack.name, "removed": removed, "left": ", ".join(left) or "-",
                "result": result}

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        rows = list(pool.map(one, classroom.students))
    students = classroom.folder / "students"
    if students.is_dir() and not any(students.iterdir()):
        students.rmdir()
    progress.done(f"{sum(row['left'] == '-' for row in rows)} of {len(rows)} stacks gone")
    return rows


def _label_only(name: str) -> Stack:
    """A stack known only by its name: enough for the provider to find what carries its label."""
    provider = get_provider(provider_name())
    return Stack(name=name, provider=provider.name, ssh_user=provider.ssh_user, ssh_key="")
