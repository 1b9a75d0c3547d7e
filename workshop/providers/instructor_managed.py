"""The provider a student's own account sees on a shared classroom server: the machines exist,
made by the instructor's `workshop class up` (root's container engine, which a student's
account cannot and must not drive), and the student works on them over SSH with their own
copy of the stack's key. What only the engine can do says who can do it.

Example::

    InstructorManaged("local").states(stack)   # {'web1': 'running', 'db1': 'stopped'}
"""

from __future__ import annotations

import socket

from ..errors import WorkshopError
from ..progress import Progress
from ..stack import InstanceRecord, Stack
from ..topology import InstanceSpec
from .base import RUNNING, STOPPED, Provider

#: The environment variable the classroom server's JupyterHub sets in every student's JupyterLab.
CLASS_ACCOUNT = "WORKSHOP_CLASS_ACCOUNT"


class InstructorManaged(Provider):
    concurrent_creates = True

    def __init__(self, name: str, ssh_user: str = "root"):
        self.name, self.ssh_user = name, ssh_user

    def _refuse(self, what: str) -> WorkshopError:
        return WorkshopError(
            f"Your machines run on the classroom server under the instructor's account, so {what} is theirs to do: "
            "ask your instructor (`workshop class up ROSTER --instances NAME ...` starts machines for the class)")

    def prepare(self, stack: Stack, progress: Progress) -> None:
        raise self._refuse("starting a machine")

    def create_instance(self, stack: Stack, spec: InstanceSpec, public_key: str, progress: Progress) -> InstanceRecord:
        raise self._refuse(f"starting {spec.name}")

    def states(self, stack: Stack) -> dict[str, str]:
        """RUNNING for each recorded machine whose SSH port accepts a connection within 2 s."""
        return {name: RUNNING if _accepts(record.public_host, record.public_port(22)) else STOPPED
                for name, record in stack.instances.items()}

    def start(self, stack: Stack, name: str, progress: Progress) -> None:
        raise self._refuse(f"starting {name}")

    def stop(self, stack: Stack, name: str) -> None:
        raise self._refuse(f"stopping {name}")

    def kill(self, stack: Stack, name: str) -> None:
        raise self._refuse(f"crashing {name}")

    def destroy(self, stack: Stack, progress: Progress) -> list[str]:
        raise self._refuse("deleting the stack")

    def leftovers(self, stack: Stack) -> list[str]:
        return []


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False
