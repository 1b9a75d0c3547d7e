"""The machine broker of a classroom server: what only root's container engine can do (start a
machine, stop it, crash it for a drill), done for a student on their own stack and nothing else.

A student's account must not drive root's podman (it would reach every stack), yet chapters
start machines (`lab.up("db1")`) and drills crash them. `workshop class hub` serves a Unix
socket; a student's JupyterLab asks it (workshop/providers/instructor_managed.py). The kernel
tells the broker who is asking (SO_PEERCRED: the caller's uid, which no client can forge),
the class's accounts say whose stack that is, and the verb runs in a process of its own with
the instructor's record of that stack, exactly as `workshop` would run it for the instructor.

    request   {"verb": "create", "name": "db1"}        one JSON line
    answer    {"ok": true, "result": {...}}  or  {"ok": false, "error": "..."}

Example::

    server = Broker(classroom, socket_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import socketserver
import struct
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from .. import topology
from ..errors import WorkshopError
from ..progress import Progress
from ..providers import get_provider
from ..stack import load_named
from .layout import Classroom

#: What a student may ask; every verb but `states` names one of the stack's machines.
VERBS = ("prepare", "create", "states", "start", "stop", "kill")
#: A machine boots in seconds; a catch-up-sized wait bounds a stuck engine.
VERB_TIMEOUT = 300


class Broker(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, classroom: Classroom, path: Path):
        self.classroom = classroom
        self.students = {classroom.stack_name(student): student for student in classroom.students}
        path.unlink(missing_ok=True)
        super().__init__(str(path), _Handler)
        path.chmod(0o666)  # anyone may ask; only the class's accounts are answered


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            answer = {"ok": True, "result": self._serve(json.loads(self.rfile.readline(65536)))}
        except (WorkshopError, ValueError, KeyError, TypeError) as exc:
            answer = {"ok": False, "error": str(exc)}
        self.wfile.write((json.dumps(answer) + "\n").encode())

    def _serve(self, request: dict) -> object:
        uid = struct.unpack("3i", self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        account = pwd.getpwuid(uid).pw_name
        student = self.server.students.get(account)
        if student is None:
            raise WorkshopError(f"account {account} is not a student of class {self.server.classroom.name}")
        verb, name = request["verb"], request.get("name", "")
        if verb not in VERBS:
            raise WorkshopError(f"the broker does not {verb!r}: it can {', '.join(VERBS)}")
        if verb not in ("prepare", "states"):
            topology.spec(name)  # a machine of the course's topology, or an error naming them
        command = [sys.executable, "-m", "workshop.classroom.broker", verb, name]
        done = subprocess.run(command, env=self.server.classroom.env(student), capture_output=True, text=True,
                              timeout=VERB_TIMEOUT, stdin=subprocess.DEVNULL)
        said = done.stdout.strip().splitlines()
        if done.returncode != 0 or not said:
            raise WorkshopError((done.stderr.strip().splitlines() or ["the broker's step failed"])[-1])
        return json.loads(said[-1])


def ask(path: Path, verb: str, name: str = "") -> object:
    """One request to the broker at `path` (a student's side); WorkshopError with its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(VERB_TIMEOUT + 30)
        try:
            connection.connect(str(path))
        except OSError as exc:
            raise WorkshopError(f"The classroom server's machine broker does not answer at {path} ({exc.strerror}): "
                                "ask your instructor to run `workshop class hub ROSTER`") from None
        connection.sendall((json.dumps({"verb": verb, "name": name}) + "\n").encode())
        answer = json.loads(connection.makefile().readline() or '{"ok": false, "error": "no answer"}')
    if not answer["ok"]:
        raise WorkshopError(answer["error"])
    return answer["result"]


def run_verb(verb: str, name: str) -> object:
    """One verb on the stack WORKSHOP_HOME/WORKSHOP_STACK name (the instructor's record of a
    student's stack), as the instructor's own `workshop` would do it; returns what to answer."""
    from ..lab import Lab

    stack = load_named(os.environ["WORKSHOP_STACK"])
    if stack is None:
        raise WorkshopError("your stack has not been made yet: ask your instructor (`workshop class up`)")
    provider, progress = get_provider(stack.provider), Progress(f"broker {verb}", quiet=True)
    if verb == "prepare":
        provider.prepare(stack, progress)
        stack.save()
        return stack.network
    if verb == "create":
        lab = Lab(stack, provider, stack.folder)
        lab.up(name)  # records the machine and its host key in the instructor's record
        return asdict(lab.stack.instances[name])
    if verb == "states":
        return provider.states(stack)
    getattr(provider, verb)(stack, name, *((progress,) if verb == "start" else ()))
    return None


if __name__ == "__main__":
    try:
        print(json.dumps(run_verb(sys.argv[1], sys.argv[2])))
    except WorkshopError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
