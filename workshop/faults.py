"""Routine operations done to a running stack while a bounded probe uses the site through its
front door (varnish1, or lb1 before chapter 09), one at a time: a service restarted, a machine
restarted, the host restarted.
What each cost: requests failed (half page views that miss any cache, half writes),
seconds until the site served again, seconds until pgpool had every database server up
again, and acknowledged writes the primary does not have afterwards.

Example::

    run_fault(lab, restart_database("standby")).row()     # lesson 08 measures one
    run_battery(lab)                                      # benchmarks/faults.py, the e2e tests: all

Every probe is bounded (MAX_REQUESTS, TIME_LIMIT_S) and goes only to the stack's loopback ports.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import requests

from .concurrency import on_each
from .deploy.pgpool import DATABASE_SERVERS, find_primary, pool_nodes
from .deploy.postgres import DATABASE, psql
from .deploy.replication import planned_restart
from .errors import WorkshopError
from .failure import Sample
from .lab import Lab
from .sql import literal
from .topology import spec
from .waiting import wait_until

REQUESTS_BEFORE, SETTLED_AFTER, INTERVAL_S, REQUEST_TIMEOUT_S = 20, 20, 0.05, 3.0
MAX_REQUESTS, TIME_LIMIT_S, ALL_UP_TIMEOUT_S = 2000, 120.0, 60.0


@dataclass(frozen=True)
class Fault:
    """One routine operation, done to the stack while the probe runs."""

    name: str
    inject: Callable[[Lab], None]


def restart_service(machine: str, unit: str) -> Fault:
    return Fault(f"{unit} on {machine}", lambda lab: lab.instance(machine).run(f"systemctl restart {unit}"))


def restart_machine(machine: str) -> Fault:
    return Fault(f"machine {machine}", lambda lab: lab.restart(machine))


def restart_database(role: str, machine: bool = False) -> Fault:
    """PostgreSQL (or its machine) restarted on whichever server holds `role` now (a failover
    swaps them): the standby's bluntly, the primary's as planned (pgpool holds its failover)."""
    def inject(lab: Lab) -> None:
        name = database_in_role(lab, role)
        if role == "primary":
            planned_restart(lab, name, machine=machine)
        elif machine:
            lab.restart(name)
        else:
            lab.instance(name).run("systemctl restart postgresql@15-main")

    what = "machine of" if machine else "postgresql on"
    return Fault(f"{what} the {role}{', planned' if role == 'primary' else ''}", inject)


def database_in_role(lab: Lab, role: str) -> str:
    primary = find_primary(lab).name
    return primary if role == "primary" else next(name for name in DATABASE_SERVERS if name != primary)


def restart_host(lab: Lab) -> None:
    """As if the learner's laptop rebooted: every machine stopped, then `workshop up`. The pooler
    stops first: pgpool cannot tell a primary stopped with the host from one that failed, and a
    pgpool that outlives it promotes the standby, so both come back as primaries (seen in CI)."""
    stack = lab.require_stack()

    def stop(name: str) -> None:
        lab.forget_connections(name)
        lab.provider.stop(stack, name)

    poolers = [name for name in stack.instances if spec(name).role == "pgpool"]
    on_each(poolers, stop)
    on_each([name for name in stack.instances if name not in poolers], stop)
    lab.up()


FAULTS = (
    restart_service("web1", "apache2"),
    restart_service("lb1", "nginx"),
    restart_service("cache1", "memcached"),
    restart_service("varnish1", "varnish"),
    restart_database("standby"),
    restart_database("primary"),
    restart_service("pgpool1", "pgpool2"),
    restart_machine("web2"),
    restart_machine("cache2"),
    restart_machine("pgpool1"),
    restart_database("standby", machine=True),
    restart_database("primary", machine=True),
    Fault("the host (pgpool1 stopped, then every other machine at once, then workshop up)", restart_host),
)


@dataclass(frozen=True)
class FaultResult:
    fault: str
    requests: int
    failed: int
    serving_again_s: float | None  # None: the site never served again within the probe
    all_up_s: float | None  # None: pgpool did not have every server up within ALL_UP_TIMEOUT_S
    acknowledged: int
    lost: int

    def row(self) -> str:
        def seconds(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f} s"

        return (f"| {self.fault} | {self.requests} | {self.failed} | {seconds(self.serving_again_s)} | "
                f"{seconds(self.all_up_s)} | {self.lost} of {self.acknowledged} |")


TABLE_HEADER = ("| fault | requests | failed | serving again after | pgpool: every server up after | "
                "acknowledged writes lost |\n|---|---|---|---|---|---|")


def run_fault(lab: Lab, fault: Fault) -> FaultResult:
    """Probe the front door (`REQUESTS_BEFORE` requests, then the fault, then until `SETTLED_AFTER`
    successes in a row once it is done; at most MAX_REQUESTS and TIME_LIMIT_S), then count."""
    front, prefix = lab.instance(front_door(lab)), f"fault-{uuid.uuid4().hex[:8]}-"
    samples: list[Sample] = []
    injected: dict[str, float] = {}
    failure: list[BaseException] = []

    def inject() -> None:
        try:
            fault.inject(lab)
        except BaseException as error:  # raised below, once the probe has stopped
            failure.append(error)
        injected["done"] = time.monotonic() - began

    def send(index: int) -> requests.Response:
        if index % 2:
            return requests.post(front.url("/api/markers/"), data={"value": f"{prefix}{index:05d}"},
                                 timeout=REQUEST_TIMEOUT_S)
        return requests.get(front.url(f"/?fault-probe={prefix}{index}"), timeout=REQUEST_TIMEOUT_S)

    began, injector = time.monotonic(), threading.Thread(target=inject)
    watch = PoolWatch(lab)
    for index in range(MAX_REQUESTS):
        if index == REQUESTS_BEFORE:
            injected["at"] = time.monotonic() - began
            watch.start()
            injector.start()
        sent = time.monotonic()
        if sent - began > TIME_LIMIT_S or _settled(samples, injected):
            break
        try:
            status = send(index).status_code
        except requests.RequestException:
            status = None
        samples.append(Sample(index, sent - began, status, None, time.monotonic() - sent))
        time.sleep(INTERVAL_S)
    injector.join()
    if failure:
        watch.stop()
        raise failure[0]
    all_up_s = watch.all_up_after(ALL_UP_TIMEOUT_S)
    acknowledged = [f"{prefix}{s.index:05d}" for s in samples if s.index % 2 and s.status == 201]
    present = set(psql(find_primary(lab), "SELECT value FROM articles_marker WHERE "
                       f"starts_with(value, {literal(prefix)})", DATABASE, readonly=True).stdout.split())
    return FaultResult(fault.name, len(samples), sum(1 for s in samples if not _ok(s)),
                       _serving_again(samples, injected["at"]), all_up_s, len(acknowledged),
                       sum(1 for value in acknowledged if value not in present))


def front_door(lab: Lab) -> str:
    """Where users come in: varnish1 from chapter 09 on, lb1 before (lesson 08 measures there)."""
    return "varnish1" if "varnish1" in lab.require_stack().instances else "lb1"


def _ok(sample: Sample) -> bool:
    return sample.status in (200, 201)


def _settled(samples: list[Sample], injected: dict[str, float]) -> bool:
    """The fault is over and the last SETTLED_AFTER requests, all sent after it, succeeded
    (times in seconds since the probe began)."""
    if "done" not in injected or len(samples) < SETTLED_AFTER:
        return False
    recent = samples[-SETTLED_AFTER:]
    return all(_ok(s) for s in recent) and recent[0].sent_s >= injected["done"]


def _serving_again(samples: list[Sample], injected_s: float) -> float | None:
    failed = [s for s in samples if not _ok(s)]
    if not failed:
        return 0.0
    back = [s for s in samples if s.index > failed[-1].index]
    return back[0].sent_s + back[0].latency_s - injected_s if back else None


class PoolWatch(threading.Thread):
    """Asks pgpool every half second, from the fault on, whether every server is up."""

    def __init__(self, lab: Lab):
        super().__init__(daemon=True)
        self.lab, self.began, self.halt = lab, 0.0, threading.Event()
        self.seen_down, self.last_answer = False, False
        self.recovered: float | None = None  # seconds after the fault: first "all up" after the last "down"

    def start(self) -> None:
        self.began = time.monotonic()
        super().start()

    def run(self) -> None:
        while not self.halt.is_set():
            asked = time.monotonic() - self.began
            try:
                nodes = pool_nodes(self.lab, self.lab.instance("pgpool1"))
            except WorkshopError:  # pgpool1 itself is restarting
                nodes = {}
            self.last_answer = bool(nodes) and all(row["status"] in ("up", "waiting") for row in nodes.values())
            if not self.last_answer:
                self.seen_down, self.recovered = True, None
            elif self.seen_down and self.recovered is None:
                self.recovered = asked
            self.halt.wait(0.5)

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def all_up_after(self, timeout: float) -> float | None:
        """Seconds after the fault until pgpool had every server up again for good (0: it never
        had one down); None if it still had one down `timeout` s after the probe ended."""
        wait_until(lambda: self.last_answer, timeout, 0.5)
        self.stop()
        if not self.last_answer:
            return None
        return self.recovered if self.seen_down else 0.0


def run_battery(lab: Lab, faults: tuple[Fault, ...] = FAULTS) -> list[FaultResult]:
    results = []
    for number, fault in enumerate(faults, 1):
        print(f"[{number}/{len(faults)}] {fault.name} ...", flush=True)
        results.append(run_fault(lab, fault))
        print(f"    {results[-1].row()}", flush=True)
    return results
