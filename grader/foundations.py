"""What a chapter's checks stand on (its machines up, their services active), probed when a
check failed, so that the report leads with the root cause and the checks standing on it say
"not checked: <cause>" instead of describing a symptom (a stopped Apache makes every chapter 02
check fail, each in its own words). Where a service stopped with an error, the cause quotes the
service's own log line (journalctl).

Example::

    results = attribute_root_causes("02-mod-wsgi", target, results)
    # [----] the app is served by Apache ... hint: not checked: apache2 on web1 is failed; its log says:
    #        "AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/newsroom.conf" ...
"""

from __future__ import annotations

import re
import shlex

from workshop.chapters import find_chapter, machines_through
from workshop.errors import WorkshopError
from workshop.pgpool_view import PCP_NODES, parse_pcp_nodes
from workshop.topology import spec

from .result import FAILED, NOT_RUN, CheckResult
from .target import Target

NOT_CHECKED = "not checked: "
#: The service each role's machine runs once the chapter that sets it up is done.
SERVICES = {"web": "apache2", "lb": "nginx", "cache": "memcached", "db": "postgresql@15-main",
            "pgpool": "pgpool2", "varnish": "varnish", "media": "seaweedfs"}
#: web1 exists from chapter 01 but runs Apache only from chapter 02 on.
SERVICE_FROM = {"web1": 2}
#: Lines of a service's journal that say why it stopped (the service's words, not systemd's).
_REASON = re.compile(r"error|fatal|failed|could not|cannot|unable|denied|invalid|syntax|AH\d{5}", re.IGNORECASE)
#: systemd's and apachectl's own words about the service, which say that it failed, not why.
_NOISE = re.compile(r"^(\S+\.service: |Failed to start |Started |Stopped |Starting |Stopping |Action '\w+' failed"
                    r"|The Apache error log may have more information)")


def service_probe(service: str) -> str:
    """One command: 'active', or the state and the last lines of the service's journal."""
    unit = shlex.quote(service)
    return (f"if systemctl is-active -q {unit}; then echo active; "
            f"elif ! systemctl cat {unit} >/dev/null 2>&1; then echo missing; "
            f"else systemctl is-active {unit}; journalctl -u {unit} -n 40 --no-pager -o cat 2>/dev/null; fi")


def log_reason(journal: str) -> str | None:
    """The service's last two lines saying why it failed (Apache names the file and line in one,
    the error in the next), or None."""
    lines = [line.strip() for line in journal.splitlines() if line.strip()]
    own = [line for line in lines if _REASON.search(line) and not _NOISE.match(line)]
    return " ".join(own[-2:])[:400] if own else None


def machine_cause(target: Target, name: str, chapter: int) -> str | None:
    """Why `name` cannot carry the chapter's checks, or None when it can."""
    if name not in target.require_stack().instances:
        return f"the stack has no {name} yet: the chapter that adds it (or `workshop catch-up`) creates it"
    service = SERVICES[spec(name).role] if chapter >= SERVICE_FROM.get(name, 0) else None
    try:
        output = target.ssh(name, service_probe(service) if service else "true").stdout
    except WorkshopError as exc:
        state = target.state(name)
        if state != "running":
            return f"{name} is {state}: start it with `workshop up {name}`"
        return f"{name} does not answer SSH ({exc})"
    state, _, journal = output.partition("\n")
    if service is not None and state.strip() == "active" and spec(name).role == "pgpool":
        return pool_cause(target, name)
    if service is None or state.strip() == "active":
        return None
    if state.strip() == "missing":
        return f"{service} is not installed on {name}: deploy it (the chapter's exercise, or `workshop catch-up`)"
    reason = log_reason(journal)
    said = f"; its log says: \"{reason}\"" if reason else ""
    return f"{service} on {name} is {state.strip()}{said} (journalctl -u {service} on {name})"


def pool_cause(target: Target, pgpool: str) -> str | None:
    """pgpool runs, but has no primary it considers up (pcp_node_info: SHOW pool_nodes needs a
    session, which pgpool then refuses): every write fails, whatever the checks standing on it
    probe. None when it has one, or cannot be asked."""
    result = target.ssh(pgpool, PCP_NODES)
    if not result.ok:
        return None
    stack = target.require_stack()
    nodes = parse_pcp_nodes(result.stdout, {record.private_ip: name for name, record in stack.instances.items()})
    if not nodes or any(row.get("status") in ("up", "waiting") and row.get("role") == "primary"
                        for row in nodes.values()):
        return None
    seen = ", ".join(f"{name} {row.get('status')} ({row.get('role')})" for name, row in nodes.items())
    return (f"pgpool on {pgpool} has no primary up (pcp_node_info: {seen}): every write through it fails. "
            f"Once the primary answers again, `pcp_attach_node -w -h localhost -U pcpadmin -n NODE` on {pgpool} "
            "gives it back (or `workshop catch-up`)")


def root_cause(target: Target, chapter: str, machines: tuple[str, ...] | None = None) -> str | None:
    """The first foundation of `chapter` that does not hold, in the order the course builds them:
    of every machine the chapter has, or of `machines` only."""
    if target.stack is None:
        return None  # the checks say "no stack found" themselves
    number = find_chapter(chapter).number
    cache = target.foundations
    for name in machines_through(number):
        if machines is not None and name not in machines:
            continue
        key = (name, number >= SERVICE_FROM.get(name, 0))
        if key not in cache:
            try:
                cache[key] = machine_cause(target, name, number)
            except Exception:  # a foundation that cannot be probed blames nothing; the checks speak for themselves
                cache[key] = None
        if cache[key]:
            return cache[key]
    return None


def attribute_root_causes(chapter: str, target: Target, results: list[CheckResult],
                          stands_on: dict[str, tuple[str, ...] | None] | None = None) -> list[CheckResult]:
    """Relabel the failed checks "not checked: <cause>" when a foundation they stand on does not
    hold. `stands_on` maps a check to the machines it stands on (None: all of the chapter's;
    (): none, for a check that probes a foundation itself)."""
    stands_on = stands_on or {}
    for result in results:
        machines = stands_on.get(result.check_id)
        if result.status == FAILED and machines != ():
            cause = root_cause(target, chapter, machines)
            if cause:
                result.status, result.hints = NOT_RUN, [NOT_CHECKED + cause]
    return results


def root_causes(results: list[CheckResult]) -> list[str]:
    """The causes the report leads with, in order, each once."""
    causes = [hint[len(NOT_CHECKED):] for result in results for hint in result.hints if hint.startswith(NOT_CHECKED)]
    return list(dict.fromkeys(causes))
