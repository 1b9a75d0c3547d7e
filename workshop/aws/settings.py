"""EC2 settings, read from the environment so that notebooks never change.

| variable | meaning | default |
|---|---|---|
| `WORKSHOP_AWS_REGION` | region of new stacks | `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region |
| `WORKSHOP_STUDENT` | student tag, part of every resource name | the login name |
| `WORKSHOP_CLASS` | class tag: the per-class limit counts stacks sharing it | `self-paced` |
| `WORKSHOP_EC2_HOURS` | hours the estimate covers; the stack expires after them | `8` |
| `WORKSHOP_EC2_TYPES` | instance types by role, e.g. `db=t3.medium,web=t3.medium` | `DEFAULT_TYPES` |
| `WORKSHOP_MAX_INSTANCES_PER_STACK` | hard limit per stack | `10` (the whole topology) |
| `WORKSHOP_MAX_INSTANCES_PER_CLASS` | hard limit per class | `100` |
| `WORKSHOP_PUBLIC_CIDR` | the student's address, when detecting it is wrong | detected |
| `WORKSHOP_INSTRUCTOR_CIDR` | the instructor's network, also admitted | none |

>>> Settings.from_env({"WORKSHOP_EC2_TYPES": "db=t3.medium"}).instance_type("db")
't3.medium'
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import WorkshopError
from ..topology import PLAN

#: Enough memory for each role's services (idle use measured locally, docs/design.md §5): the
#: databases and the mod_wsgi web servers get 2 GiB, everything else 1 GiB.
DEFAULT_TYPES = {
    "varnish": "t3.micro",
    "lb": "t3.micro",
    "web": "t3.small",
    "cache": "t3.micro",
    "db": "t3.small",
    "pgpool": "t3.micro",
    "media": "t3.micro",
}
DEFAULT_HOURS = 8.0
DEFAULT_CLASS = "self-paced"
MAX_PER_CLASS = 100
_LABEL = re.compile(r"[^a-z0-9-]+")


def label(text: str, length: int) -> str:
    """`text` as a lowercase name usable in every AWS resource name (bucket names are the strictest)."""
    cleaned = _LABEL.sub("-", text.lower()).strip("-")[:length].strip("-")
    return cleaned or "student"


@dataclass(frozen=True)
class Settings:
    """The choices behind one student's EC2 stack."""

    region: str | None = None
    student: str = "student"
    class_name: str = DEFAULT_CLASS
    hours: float = DEFAULT_HOURS
    types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPES))
    max_per_stack: int = len(PLAN)
    max_per_class: int = MAX_PER_CLASS
    public_cidr: str | None = None
    instructor_cidr: str | None = None

    def instance_type(self, role: str) -> str:
        return self.types.get(role, DEFAULT_TYPES.get(role, "t3.micro"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        types = dict(DEFAULT_TYPES)
        for item in filter(None, (part.strip() for part in env.get("WORKSHOP_EC2_TYPES", "").split(","))):
            role, _, instance_type = item.partition("=")
            if role not in DEFAULT_TYPES or not instance_type:
                raise WorkshopError(f"WORKSHOP_EC2_TYPES: {item!r} is not ROLE=TYPE with ROLE one of "
                                    f"{', '.join(DEFAULT_TYPES)} (e.g. db=t3.medium)")
            types[role] = instance_type.strip()
        return cls(
            region=env.get("WORKSHOP_AWS_REGION") or None,
            student=label(env.get("WORKSHOP_STUDENT") or getpass.getuser(), 15),
            class_name=label(env.get("WORKSHOP_CLASS") or DEFAULT_CLASS, 40),
            hours=_number(env, "WORKSHOP_EC2_HOURS", DEFAULT_HOURS, float),
            types=types,
            max_per_stack=_number(env, "WORKSHOP_MAX_INSTANCES_PER_STACK", len(PLAN), int),
            max_per_class=_number(env, "WORKSHOP_MAX_INSTANCES_PER_CLASS", MAX_PER_CLASS, int),
            public_cidr=_cidr(env, "WORKSHOP_PUBLIC_CIDR"),
            instructor_cidr=_cidr(env, "WORKSHOP_INSTRUCTOR_CIDR"),
        )


def _number(env: Mapping[str, str], name: str, default, kind):
    text = env.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise WorkshopError(f"{name}={text!r} must be a positive number (default {default})")
    return value


def _cidr(env: Mapping[str, str], name: str) -> str | None:
    text = env.get(name)
    if not text:
        return None
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise WorkshopError(f"{name}={text!r} is not an address or network, e.g. 203.0.113.7/32") from None
