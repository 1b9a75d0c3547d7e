"""What a chapter's checks stand on (its machines up, their services active, and the health
of the three services others depend on: pgpool holding a primary up, chapter 08's standby
streaming, Varnish's backend healthy), probed when a check failed, so that the report leads
with the root cause and the checks standing on it say "not checked: <cause>" instead of
describing a symptom (a stopped Apache makes every chapter 02 check fail, each in its own
words). Where a service stopped with an error, the cause quotes the service's own log line
(journalctl).

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
from workshop.sql import superuser_psql
from workshop.topology import spec
from workshop.varnish_backends import ACTIVE_BACKEND_HEALTHY, PROBE_WAIT_S
from workshop.waiting import wait_until

from .result import FAILED, NOT_RUN, CheckResult
from .target import Target
from .wal_receiver import not_streaming

NOT_CHECKED = "not checked: "
#: The service each role's machine runs once the chapter that sets it up is done.
SERVICES = {"web": "apache2", "lb": "nginx", "cache": "memcached", "db": "postgresql@15-main",
            "pgpool": "pgpool2", "varnish": "varnish", "media": "seaweedfs"}
#: web1 exists from chapter 01 but runs Apache only from chapter 02 on.
SERVICE_FROM = {"web1": 2}
#: Only chapter 08's checks stand on the standby streaming (later chapters' reads go to the primary
#: when it does not: pgpool's delay_threshold).
STREAMING_CHAPTER = 8
#: A standby just (re)started connects to its primary within this.
STANDBY_CONNECT_S = 5
#: 't' when the server is in recovery and receives no WAL.
NOT_STREAMING = ("SELECT pg_is_in_recovery() AND NOT EXISTS "
                 "(SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")
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


def machine_cause(target: Target, name: str, chapter: int, health: str | None = None) -> str | None:
    """Why `name` cannot carry the chapter's checks, or None when it can; `health` names the
    foundation of HEALTH to probe once its service is active."""
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
    if service is None or state.strip() == "active":
        return HEALTH[health](target, name) if service and health else None
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


def standby_cause(target: Target, db: str) -> str | None:
    """`db` is in recovery but receives no WAL (pg_stat_wal_receiver), after the few seconds a
    restarted standby takes to connect: what it replays is frozen, and its log says why."""
    if wait_until(lambda: target.ssh(db, superuser_psql(), stdin=NOT_STREAMING).stdout.strip() != "t",
                  STANDBY_CONNECT_S, 0.5):
        return None
    return not_streaming(target, db)


def backend_cause(target: Target, varnish: str) -> str | None:
    """The active VCL has no healthy backend within PROBE_WAIT_S (a VCL loaded a moment ago has
    no verdict yet): Varnish then answers every cache miss with 503."""
    if wait_until(lambda: target.ssh(varnish, ACTIVE_BACKEND_HEALTHY).ok, PROBE_WAIT_S, 0.5):
        return None
    return (f"the active VCL on {varnish} has had no healthy backend for {PROBE_WAIT_S} s (varnishadm backend.list "
            f"on {varnish}), so every cache miss is answered 503: the VCL's backend must be lb1's private address, "
            "port 80, with a probe URL lb1 answers with 200 (/health/)")


#: What each service others depend on must be beyond active, probed by machine_cause.
HEALTH = {"pgpool-nodes": pool_cause, "streaming": standby_cause, "varnish-backend": backend_cause}


def health_of(name: str, chapter: int) -> str | None:
    """The HEALTH foundation `name` carries in `chapter`."""
    role = spec(name).role
    if role == "db":
        return "streaming" if chapter == STREAMING_CHAPTER else None
    return {"pgpool": "pgpool-nodes", "varnish": "varnish-backend"}.get(role)


def root_cause(target: Target, chapter: str, machines: tuple[str, ...] | None = None,
               judged: tuple[str, ...] = ()) -> str | None:
    """The first foundation of `chapter` that does not hold, in the order the course builds them:
    of every machine the chapter has, or of `machines` only; the HEALTH foundations in `judged`
    are left to the check that judges them."""
    if target.stack is None:
        return None  # the checks say "no stack found" themselves
    number = find_chapter(chapter).number
    cache = target.foundations
    for name in machines_through(number):
        if machines is not None and name not in machines:
            continue
        health = health_of(name, number)
        health = None if health in judged else health
        key = (name, number >= SERVICE_FROM.get(name, 0), health)
        if key not in cache:
            try:
                cache[key] = machine_cause(target, name, number, health)
            except Exception:  # a foundation that cannot be probed blames nothing; the checks speak for themselves
                cache[key] = None
        if cache[key]:
            return cache[key]
    return None


def attribute_root_causes(chapter: str, target: Target, results: list[CheckResult],
                          checks: dict | None = None) -> list[CheckResult]:
    """Relabel the failed checks "not checked: <cause>" when a foundation they stand on does not
    hold. `checks` maps a check id to its registry.Check, whose `stands_on` names the machines it
    stands on (None: all of the chapter's; (): none, for a check that probes a machine itself)
    and `judges` the HEALTH foundations it probes itself."""
    checks = checks or {}
    for result in results:
        item = checks.get(result.check_id)
        machines, judged = (item.stands_on, item.judges) if item else (None, ())
        if result.status == FAILED and machines != ():
            cause = root_cause(target, chapter, machines, judged)
            if cause:
                result.status, result.hints = NOT_RUN, [NOT_CHECKED + cause]
    return results


def root_causes(results: list[CheckResult]) -> list[str]:
    """The causes the report leads with, in order, each once."""
    causes = [hint[len(NOT_CHECKED):] for result in results for hint in result.hints if hint.startswith(NOT_CHECKED)]
    return list(dict.fromkeys(causes))
