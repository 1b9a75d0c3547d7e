"""The student's stack as a check sees it: from outside, read-only.

Checks reach instances the way an ops engineer would: the provider's view
of which machines run, SSH with the stack's key, HTTP on public endpoints.
They never import the deploy code, so a deploy bug cannot hide itself.

>>> target = Target.from_folder(".")
>>> target.ssh("web1", "hostname").stdout
'web1\\n'
"""

from __future__ import annotations

from pathlib import Path

from workshop.errors import WorkshopError
from workshop.providers import MISSING, get_provider
from workshop.remote import CommandResult, Remote
from workshop.stack import Stack, find_descriptor, load_named

PROBE_CONNECT_TIMEOUT = 5
PROBE_COMMAND_TIMEOUT = 20


class ProbeError(WorkshopError):
    """A probe could not observe what it needed; the message is the hint."""


class Target:
    def __init__(self, stack: Stack | None, source: str):
        self.stack = stack
        self.source = source
        self.answers: dict = {}
        self._remotes: dict[str, Remote] = {}
        self._states: dict[str, str] | None = None

    @classmethod
    def from_folder(cls, folder: str | Path) -> "Target":
        """The stack whose descriptor travels with the notebook in `folder`."""
        descriptor = find_descriptor(Path(folder))
        return cls(Stack.load(descriptor) if descriptor else None, f"{Path(folder).resolve()}/workshop-stack.json")

    @classmethod
    def for_stack(cls, name: str) -> "Target":
        """The stack called `name` on this machine (what `workshop check` grades)."""
        return cls(load_named(name), f"stack {name!r}")

    def require_stack(self) -> Stack:
        if self.stack is None:
            raise ProbeError(f"no stack found ({self.source}): run `lab = workshop.open_lab()` and `lab.up(\"web1\")`")
        return self.stack

    def record(self, name: str):
        stack = self.require_stack()
        if name not in stack.instances:
            raise ProbeError(f"the stack has no instance {name}: start it with lab.up({name!r})")
        return stack.instances[name]

    def state(self, name: str) -> str:
        """running, stopped or missing, as the provider reports it."""
        if self._states is None:
            stack = self.require_stack()
            self._states = get_provider(stack.provider).states(stack)
        return self._states.get(name, MISSING)

    def remote(self, name: str) -> Remote:
        if name not in self._remotes:
            stack = self.require_stack()
            self._remotes[name] = Remote(self.record(name), stack.ssh_user, stack.ssh_key,
                                         connect_timeout=PROBE_CONNECT_TIMEOUT)
        return self._remotes[name]

    def ssh(self, name: str, command: str, timeout: float = PROBE_COMMAND_TIMEOUT) -> CommandResult:
        """Run a read-only probe command on `name`; raises with a hint if unreachable."""
        return self.remote(name).run(command, timeout=timeout)

    def close(self) -> None:
        for remote in self._remotes.values():
            remote.close()
        self._remotes.clear()
