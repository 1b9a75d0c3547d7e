"""The provider a student's own account sees on a shared classroom server: the machines are
made by root's container engine, which a student's account cannot and must not drive (it would
reach every stack). Each verb is asked of the class's machine broker instead
(workshop/classroom/broker.py), which does it on that student's own stack and no other; without
a broker, the verbs only the engine can do say who can do them.

Example::

    InstructorManaged("local").states(stack)   # {'web1': 'running', 'db1': 'stopped'}
"""

from __future__ import annotations

import os
from pathlib import Path

from ..classroom.reach import ssh_answers
from ..errors import WorkshopError
from ..progress import Progress
from ..stack import InstanceRecord, Stack
from ..topology import InstanceSpec
from .base import RUNNING, STOPPED, Provider

#: Set by the classroom server's JupyterHub in every student's JupyterLab: "1".
CLASS_ACCOUNT = "WORKSHOP_CLASS_ACCOUNT"
#: ... and the path of the class's machine broker socket.
CLASS_BROKER = "WORKSHOP_CLASS_BROKER"


class InstructorManaged(Provider):
    #: One request at a time: the broker writes the instructor's record of the stack for each.
    concurrent_creates = False

    def __init__(self, name: str, ssh_user: str = "root"):
        self.name, self.ssh_user = name, ssh_user

    def _ask(self, what: str, verb: str, name: str = ""):
        from ..classroom.broker import ask

        socket_path = os.environ.get(CLASS_BROKER)
        if not socket_path:
            raise WorkshopError(
                f"Your machines run on the classroom server under the instructor's account, so {what} is theirs "
                "to do: ask your instructor (`workshop class up ROSTER --instances NAME ...` starts machines)")
        return ask(Path(socket_path), verb, name)

    def prepare(self, stack: Stack, progress: Progress) -> None:
        stack.network.update(self._ask("making the stack's network", "prepare"))

    def create_instance(self, stack: Stack, spec: InstanceSpec, public_key: str, progress: Progress) -> InstanceRecord:
        progress.say(spec.name, "asking the classroom server's broker to start it")
        return InstanceRecord(**self._ask(f"starting {spec.name}", "create", spec.name))

    def states(self, stack: Stack) -> dict[str, str]:
        """The engine's answer through the broker; without one, RUNNING for each recorded machine
        whose SSH server greets within 2 s."""
        if os.environ.get(CLASS_BROKER):
            return self._ask("reading the machines' states", "states")
        return {name: RUNNING if ssh_answers(record.public_host, record.public_port(22), timeout=2) is None else STOPPED
                for name, record in stack.instances.items()}

    def start(self, stack: Stack, name: str, progress: Progress) -> None:
        self._ask(f"starting {name}", "start", name)

    def stop(self, stack: Stack, name: str) -> None:
        self._ask(f"stopping {name}", "stop", name)

    def kill(self, stack: Stack, name: str) -> None:
        self._ask(f"crashing {name}", "kill", name)

    def destroy(self, stack: Stack, progress: Progress) -> list[str]:
        raise WorkshopError("A class stack is deleted by the instructor (`workshop class down ROSTER`)")

    def leftovers(self, stack: Stack) -> list[str]:
        return []

