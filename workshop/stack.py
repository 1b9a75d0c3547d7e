"""The stack descriptor: everything needed to reach a student's machines.

It is saved in the stack's own folder (~/.workshop/stacks/NAME/stack.json)
and copied beside every notebook that opens the stack, as
`workshop-stack.json`, so a submitted assignment carries it and the grader
finds the same machines wherever it runs.

Example::

    stack = Stack.load(find_descriptor(Path(".")))
    stack.instances["web1"].public_port(80)
    # -> 41080
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .descriptor import NAME, check_descriptor
from .errors import StackError

DESCRIPTOR_NAME = "workshop-stack.json"
DEFAULT_STACK = "lab"


def workshop_home() -> Path:
    """Where stacks keep their state: $WORKSHOP_HOME, else ~/.workshop."""
    return Path(os.environ.get("WORKSHOP_HOME") or Path.home() / ".workshop")


def default_stack_name() -> str:
    return os.environ.get("WORKSHOP_STACK") or DEFAULT_STACK


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise StackError(
            f"Stack name {name!r} is not usable: use 1-31 lowercase letters, digits and '-', starting with a letter"
        )
    return name


@dataclass
class InstanceRecord:
    """One machine: its role, private address (between instances) and public endpoint."""

    name: str
    role: str
    private_ip: str
    public_host: str
    ports: dict[str, int]
    provider_id: str
    host_key: str = ""

    def public_port(self, port: int) -> int:
        try:
            return self.ports[str(port)]
        except KeyError:
            raise StackError(f"{self.name} does not publish port {port} (it publishes {', '.join(self.ports)})") from None

    def url(self, path: str = "/", port: int = 80) -> str:
        return f"http://{self.public_host}:{self.public_port(port)}{path}"


@dataclass
class Stack:
    """A student's stack of instances, as one provider made them."""

    name: str
    provider: str
    ssh_user: str
    ssh_key: str
    network: dict = field(default_factory=dict)
    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    copies: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return workshop_home() / "stacks" / self.name

    @property
    def path(self) -> Path:
        return self.folder / "stack.json"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, home: Path | None = None) -> "Stack":
        """The stack `data` describes, once it passes every rule of descriptor.py (its key must be
        under `home`, default WORKSHOP_HOME); else StackError("invalid descriptor: ...")."""
        check_descriptor(data, home or workshop_home())
        data = dict(data)
        data["instances"] = {name: InstanceRecord(**record) for name, record in data.get("instances", {}).items()}
        return cls(**data)

    @classmethod
    def load(cls, path: Path, home: Path | None = None) -> "Stack":
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise StackError(f"No stack descriptor at {path}") from None
        except ValueError as exc:
            raise StackError(f"The stack descriptor {path} is damaged ({exc}); run `workshop down` and start again") from exc
        return cls.from_dict(data, home)

    def save(self) -> None:
        """Write the descriptor to the stack folder and to every notebook folder that copies it."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, text)
        for copy in self.copies:
            if Path(copy).parent.is_dir():
                _atomic_write(Path(copy), text)

    def add_copy(self, folder: Path) -> None:
        copy = str((Path(folder) / DESCRIPTOR_NAME).resolve())
        if copy not in self.copies:
            self.copies.append(copy)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def find_descriptor(folder: Path) -> Path | None:
    """The descriptor that travels with a notebook in `folder`, if there is one."""
    candidate = Path(folder) / DESCRIPTOR_NAME
    return candidate if candidate.is_file() else None


def load_named(name: str) -> Stack | None:
    """The stack called `name` on this machine, or None when it has never been created."""
    path = workshop_home() / "stacks" / check_name(name) / "stack.json"
    return Stack.load(path) if path.is_file() else None
