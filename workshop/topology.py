"""The course's machines: one name, role and address slot per instance.

The full topology (docs/design.md §4): varnish1 -> lb1 -> web1, web2 -> pgpool1 ->
db1 (primary), db2 (standby); cache1, cache2; media1 (S3-compatible store).
Chapters add instances by name; the plan fixes each one's private address.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownNameError


@dataclass(frozen=True)
class InstanceSpec:
    """What an instance is for, where it sits on the stack network, what it publishes."""

    name: str
    role: str
    host_number: int
    ports: tuple[int, ...] = (22, 80)


PLAN: dict[str, InstanceSpec] = {
    spec.name: spec
    for spec in (
        InstanceSpec("varnish1", "varnish", 10, (22, 80, 6081)),
        InstanceSpec("lb1", "lb", 11),
        InstanceSpec("web1", "web", 21),
        InstanceSpec("web2", "web", 22),
        InstanceSpec("cache1", "cache", 31),
        InstanceSpec("cache2", "cache", 32),
        InstanceSpec("db1", "db", 41),
        InstanceSpec("db2", "db", 42),
        InstanceSpec("pgpool1", "pgpool", 45),
        InstanceSpec("media1", "media", 51, (22, 8333)),
    )
}


def spec(name: str) -> InstanceSpec:
    """The plan entry for `name`, or an UnknownNameError listing the valid names."""
    try:
        return PLAN[name]
    except KeyError:
        raise UnknownNameError(f"No machine called {name} in the course; choose from: {', '.join(PLAN)}") from None


#: The web servers of the complete stack (chapter 05 adds web2): every one runs the app, behind lb1.
WEB_SERVERS = ("web1", "web2")

#: Roles started before the rest when several machines start together (a stack coming back
#: after the host restarted): pgpool must find its servers up, or it would take a primary
#: still booting for a dead one and promote the standby.
BOOTS_FIRST = ("db",)


def boot_waves(names: list[str]) -> list[list[str]]:
    """`names` in the order to start them: the database servers, then everything else."""
    first = [name for name in names if spec(name).role in BOOTS_FIRST]
    rest = [name for name in names if name not in first]
    return [wave for wave in (first, rest) if wave]
