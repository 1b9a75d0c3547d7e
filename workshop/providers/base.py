"""What a provider does for a stack, whoever hosts the machines.

The local provider (systemd containers) and a cloud provider implement the
same verbs, so notebooks, deploy steps and checks never ask which one runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..progress import Progress
from ..stack import InstanceRecord, Stack
from ..topology import InstanceSpec

RUNNING, STOPPED, MISSING = "running", "stopped", "missing"


class Provider(ABC):
    #: Name stored in the stack descriptor.
    name: str
    #: The login user on its machines.
    ssh_user: str
    #: Whether `create_instance` may run for several instances of a stack at once.
    concurrent_creates: bool = False

    @abstractmethod
    def prepare(self, stack: Stack, progress: Progress) -> None:
        """Create what every instance of the stack shares (image, network); idempotent."""

    @abstractmethod
    def create_instance(self, stack: Stack, spec: InstanceSpec, public_key: str, progress: Progress) -> InstanceRecord:
        """Start the instance `spec` (or resume it if it exists) and return how to reach it."""

    @abstractmethod
    def states(self, stack: Stack) -> dict[str, str]:
        """Each instance the provider knows of in this stack: RUNNING or STOPPED."""

    @abstractmethod
    def start(self, stack: Stack, name: str, progress: Progress) -> None:
        """Start a stopped instance again, keeping its disk and addresses."""

    @abstractmethod
    def stop(self, stack: Stack, name: str) -> None:
        """Shut an instance down cleanly."""

    @abstractmethod
    def kill(self, stack: Stack, name: str) -> None:
        """Crash an instance: power off without shutdown (failure exercises)."""

    @abstractmethod
    def destroy(self, stack: Stack, progress: Progress) -> list[str]:
        """Delete every resource the stack created; return what was deleted."""

    @abstractmethod
    def leftovers(self, stack: Stack) -> list[str]:
        """Resources that still carry the stack's tag (empty after a complete teardown)."""
