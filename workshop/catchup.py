"""Catch up: bring a stack to the end state of chapter N with the reference
deploys, so a student who fell behind (or a learner starting mid-course)
can continue. Idempotent: what is already in place is left as it is.
Each chapter's step is the function named after the chapter (workshop/chapters.py):
step(lab, progress, target), `target` the chapter caught up to.

Fast enough to use in class: every machine the target chapter needs starts at once,
the web servers get their packages at once, the machines of one chapter are deployed
concurrently where they do not depend on each other, machines no earlier chapter
touches are deployed ahead, while the chapters before theirs run (AHEAD), and
catch-up's own load tests are short (the "catch-up" profile, as long as the checks
accept): they exist so the next chapters have figures to compare with, are marked as
catch-up's (in the servers' logs too) and earn no marks; a student's own runs replace
them. A load test runs on a quiet stack: what runs ahead is waited for first, so its
figures are the stack's, not the machine's spare cores'. Catch-up runs no drill: 05's
crash leaves the stack as it found it and 08's failover only swaps the database
servers' roles, so neither is needed to move on, and a drill's record is only worth
marks when the student ran it.

Example::

    catch_up(lab, 3)        # web1 on mod_wsgi, baseline load test, PostgreSQL on db1
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, TypeVar

import requests

from . import grading, loadtest
from .app import create_marker, health
from .chapters import Chapter, chapters_through, machines_through
from .concurrency import Ahead, on_each
from .deploy.app import app_environment, environment_in_place
from .deploy.config_file import keeping_own
from .deploy.media import deploy_media_server
from .deploy.memcached import deploy_cache_servers, deploy_cache_settings
from .deploy.nginx import SITE, configure_nginx, deploy_load_balancer, reference_lb_config, sync_static
from .deploy.pgpool import (DATABASE_SERVERS, admit_pooler, deploy_pgpool, is_primary, pooled, reattach_servers,
                            restrict_to_pooler, running)
from .deploy.postgres import database_url, deploy_database_server
from .deploy.releases import deploy_releases
from .deploy.replication import ensure_standby
from .deploy.settings import reference_settings
from .deploy.varnish import deploy_varnish
from .deploy.web import deploy_release_web_server, deploy_web_server, install_python
from .deploy.wheelhouse import build_wheelhouse
from .lab import Lab
from .errors import StackError, WorkshopError
from .progress import Progress
from .providers import RUNNING
from .records import LoadTest, NotRecorded, Record, RecordFolders
from .topology import WEB_SERVERS

T = TypeVar("T")


@dataclass
class _Run:
    """One catch_up call: the work running ahead, and what its steps did that a later one
    need not redo (threads inherit it)."""

    ahead: Ahead
    #: Chapter 07 put pgpool over db1 and db2 (db2 deployed ahead): chapter 08 has nothing to add.
    pgpool_over_pair: bool = False


_RUN: ContextVar[_Run] = ContextVar("catch_up_run")


def _recorded(lab: Lab, kind: type[Record], key: str) -> bool:
    """Whether the stack has the record its chapter's check needs (not another stack's, not damaged)."""
    try:
        RecordFolders.of(lab).made_on(kind, key, lab.stack.name, run="workshop catch-up")
    except NotRecorded:
        return False
    return True


def _ahead() -> Ahead:
    return _RUN.get().ahead


def _deployed(name: str, deploy: Callable[[], T]) -> T:
    """`deploy()`, or what the same deploy returned when it ran ahead under `name`."""
    ahead = _ahead()
    return ahead.wait(name)[name] if ahead.started(name) else deploy()


def _quiet() -> None:
    """Before a load test: nothing else runs on the stack or the host."""
    _ahead().wait()


def _web_settings(lab: Lab, chapter: int, target: Chapter, names: tuple[str, ...]) -> dict | None:
    """The app's settings of the end of `chapter` for the web servers `names`; None when
    they run the target's settings already and a later chapter of this catch-up deploys
    them again (this chapter's settings would only take them back a step)."""
    last = max(entry.number for entry in chapters_through(target.number) if entry.app_settings)
    if chapter < last:
        end_state = app_environment(lab, **reference_settings(lab, target.number))
        if all(environment_in_place(lab.instance(name), end_state) for name in names):
            return None
    return reference_settings(lab, chapter)


def _deploy_web_servers(lab: Lab, progress: Progress, chapter: int, target: Chapter) -> None:
    """Both web servers, at once, with the app's settings of the end of `chapter` (see _web_settings)."""
    settings = _web_settings(lab, chapter, target, WEB_SERVERS)
    if settings is not None:
        on_each(WEB_SERVERS, lambda name: deploy_release_web_server(lab, name, progress, **settings))


def getting_started(lab: Lab, progress: Progress, target: Chapter) -> None:
    lab.up("web1")


def mod_wsgi(lab: Lab, progress: Progress, target: Chapter) -> None:
    """web1 on SQLite, load-tested; skipped on the way to a later chapter once the baseline exists."""
    if target.number == 2 or not _recorded(lab, LoadTest, "02-baseline"):
        web1 = deploy_web_server(lab, "web1", progress)
        if not _recorded(lab, LoadTest, "02-baseline"):
            _quiet()
            loadtest.run(lab, "02-baseline", web1, by_catch_up=True)


def postgresql(lab: Lab, progress: Progress, target: Chapter) -> None:
    """db1 serving the app's data; web1 redeployed in place only when it is not using db1 yet.
    Nothing once chapters 07-08 own the database tier."""
    if _tier_past_chapter_03(lab):
        return
    _deployed("db1", lambda: deploy_database_server(lab, "db1", progress))
    web1 = lab.instance("web1")
    if target.number == 3 or _database_host(web1) != lab.planned_ip("db1"):
        web1 = deploy_web_server(lab, "web1", progress, database_url=database_url(lab))
    if create_marker(web1, "before-restart") is not None:
        lab.restart("web1")


def _tier_past_chapter_03(lab: Lab) -> bool:
    """Whether chapters 07-08 own the database tier: pgpool serves (db1 admits the app from
    pgpool only), or db1 is a standby after a failover, though pgpool may be down just now.
    Chapter 03's deploy would rewrite a server it no longer owns; a standby refuses it anyway
    ("cannot execute ALTER ROLE in a read-only transaction")."""
    if pooled(lab):
        return True
    return "db1" in running(lab, ("db1",)) and is_primary(lab.instance("db1")) is False


def _database_host(web) -> str | None:
    try:
        return health(web)["database"]["host"]
    except (requests.RequestException, ValueError, KeyError):
        return None


def fabric(lab: Lab, progress: Progress, target: Chapter) -> None:
    """web1 on atomic releases; the second deploy of the same code is the idempotent no-op."""
    deploy_releases(lab, ["web1"])
    deploy_releases(lab, ["web1"])


def load_balancing(lab: Lab, progress: Progress, target: Chapter) -> None:
    """media1 for shared media, web1 and web2 on releases with it, lb1 in front."""
    _deployed("media1", lambda: deploy_media_server(lab, "media1", progress))
    _ahead().wait("web2, lb1")
    _deploy_web_servers(lab, progress, 5, target)
    deploy_load_balancer(lab, "lb1", WEB_SERVERS, progress)


def caching(lab: Lab, progress: Progress, target: Chapter) -> None:
    """memcached on cache1 and cache2; web1 and web2 with both in their cache settings."""
    _deployed("cache1, cache2", lambda: deploy_cache_servers(lab, progress=progress))
    deploy_cache_settings(lab, WEB_SERVERS, progress)


def pgpool(lab: Lab, progress: Progress, target: Chapter) -> None:
    """pgpool1 in front of the database (of both servers once chapter 08 added db2), the web
    servers through it, the database admitting the app's user from pgpool1 only."""
    _ahead().wait("db2")
    pair = _pair_deployed(lab)
    backends = DATABASE_SERVERS if pair else ("db1",)
    # Once pgpool serves, chapter 08's step deploys it over both anyway (a failed primary rejoins first).
    replication_next = pair and target.number >= 8 and pooled(lab)
    if not replication_next:
        deploy_pgpool(lab, "pgpool1", backends, progress)
    _deploy_web_servers(lab, progress, 7, target)
    if not replication_next:
        restrict_to_pooler(lab, running(lab, backends))
        _RUN.get().pgpool_over_pair = running(lab, backends) == DATABASE_SERVERS


def _pair_deployed(lab: Lab) -> bool:
    """Whether chapter 08 made db2 a database server (it may be down: a failed primary)."""
    states = lab.provider.states(lab.require_stack())
    return states.get("db2") not in (None, RUNNING) or lab.serves("db2", "postgresql@15-main")


def replication(lab: Lab, progress: Progress, target: Chapter) -> None:
    """A streaming standby of the primary (a primary the student's drill left down rejoins
    as one), pgpool balancing reads over both."""
    ensure_standby(lab, progress)
    if not _RUN.get().pgpool_over_pair:
        deploy_pgpool(lab, "pgpool1", DATABASE_SERVERS, progress)
        restrict_to_pooler(lab, DATABASE_SERVERS)


def varnish(lab: Lab, progress: Progress, target: Chapter) -> None:
    """Varnish on varnish1 in front of lb1 (never ahead: see AHEAD)."""
    deploy_varnish(lab, "varnish1", "lb1", progress)


def final_load_test(lab: Lab, progress: Progress, target: Chapter) -> None:
    """The load test against varnish1, once."""
    if not _recorded(lab, LoadTest, "10-final"):
        _quiet()
        loadtest.run(lab, "10-final", lab.instance("varnish1"), by_catch_up=True)


def _second_web_server(lab: Lab, progress: Progress, target: Chapter) -> None:
    """web2 as chapter 05 deploys it (its packages first; then, once the database and the
    media store are deployed ahead, on releases with chapter 05's settings), and lb1 in
    front of both with web2's static files (web1's are the same release's; chapter 05
    copies them again only if they differ)."""
    install_python(lab, ["web2"], progress)
    _ahead().wait("db1", "media1")
    settings = _web_settings(lab, 5, target, ("web2",))
    if settings is not None:
        deploy_release_web_server(lab, "web2", progress, **settings)
    lb = lab.up("lb1")
    sync_static(lab.instance("web2"), lb)
    configure_nginx(lb, keeping_own(lb, SITE, reference_lb_config(lab, WEB_SERVERS), progress), progress)


def _standby(lab: Lab, progress: Progress, target: Chapter) -> None:
    """db2 streaming from the primary, as chapter 08 makes it, once db1 is deployed ahead;
    until pgpool serves, db1 admits db2's replication (and pgpool) as chapter 07's
    pgpool has it do. Chapter 07 then puts pgpool over both at once."""
    _ahead().wait("db1")
    if not pooled(lab):
        admit_pooler(lab, "db1")
    ensure_standby(lab, progress)


@dataclass(frozen=True)
class DeployAhead:
    """Machines no chapter step before theirs touches, deployed while those steps run."""

    #: The machines, as the work is named (its progress lines, its failure's note).
    machines: str
    deploy: Callable[[Lab, Progress, Chapter], object]

    @property
    def names(self) -> set[str]:
        return set(self.machines.split(", "))


#: What catch-up deploys ahead, from the start: never work a record needs on its chapter's
#: state (02's baseline, 03's marker and restart), never a web server chapters 02-04 use,
#: never a machine that sends requests to the others once it runs: varnish1's health probes
#: through lb1 would meet chapter 07's Apache restarts, and nginx would take both web servers
#: out of rotation for 5 s (max_fails=1), failing whatever goes through lb1 next.
#: Chapter 05's web2 migrates db1 before web1 does in chapter 03: a no-op for web1 then.
AHEAD = (
    DeployAhead("db1", lambda lab, progress, target: None if _tier_past_chapter_03(lab) else
                deploy_database_server(lab, "db1", progress)),
    DeployAhead("media1", lambda lab, progress, target: deploy_media_server(lab, "media1", progress)),
    DeployAhead("cache1, cache2", lambda lab, progress, target: deploy_cache_servers(lab, progress=progress)),
    DeployAhead("web2, lb1", _second_web_server),
    DeployAhead("db2", _standby),
)


def _start_ahead(ahead: Ahead, lab: Lab, progress: Progress, target: Chapter) -> None:
    """Start the work of AHEAD whose machines the target has."""
    machines = machines_through(target.number)
    for work in AHEAD:
        if work.names <= set(machines):
            progress.say(work.machines, "deploying ahead, while the chapters before it run")
            ahead.start(work.machines, work.deploy, lab, progress, target)


def _runs_ahead(ahead: Ahead, name: str) -> bool:
    return any(name in work.names and ahead.started(work.machines) for work in AHEAD)


def _raise_with_root_cause(lab: Lab, entry: Chapter, failure: WorkshopError) -> None:
    """Re-raise a chapter step's failure led by what the chapter stands on that does not hold
    (a stopped machine, a failed service in its own log's words), when something does: the
    step's own message is often only its symptom ("web1 did not answer /health/")."""
    from grader.foundations import root_cause
    from grader.target import Target

    target = Target(lab.stack, f"stack {lab.stack.name}")
    try:
        cause = root_cause(target, entry.id)
    finally:
        target.close()
    if cause is None:
        raise failure
    raise StackError(f"catch-up stopped in {entry.id}. Root cause: {cause}. Fix it, then run `workshop catch-up` "
                     f"again (it resumes where it stopped).\nWhat the step said: {failure}") from failure


def _repair_database_tier(lab: Lab, progress: Progress) -> None:
    """Before any web server is redeployed (each waits for its app to reach the database):
    pgpool, if it serves, gets back the servers it holds down though they answer again."""
    if "pgpool1" in lab.require_stack().instances and pooled(lab):
        reattach_servers(lab, lab.instance("pgpool1"), progress)


@grading.changes("catch up to chapter {chapter}")
def catch_up(lab: Lab, chapter: int | str) -> None:
    """Run the reference deploy of every chapter up to and including `chapter`."""
    reached = chapters_through(chapter)
    target = reached[-1]
    progress = Progress(f"catch up to {target.id}")
    machines = machines_through(target.number)
    progress.say(target.id, f"starting {', '.join(machines)}")
    lab.up(*machines)
    _repair_database_tier(lab, progress)
    if any(name in WEB_SERVERS for name in machines):
        build_wheelhouse(progress)  # once, before the web servers' packages install at once
    with Ahead() as ahead:
        token = _RUN.set(_Run(ahead))
        try:
            _start_ahead(ahead, lab, progress, target)
            install_python(lab, [name for name in machines if name in WEB_SERVERS and not _runs_ahead(ahead, name)],
                           progress)
            for entry in reached:
                progress.say(entry.id, "bringing the stack to this chapter's end state")
                try:
                    entry.catch_up_step()(lab, progress, target)
                except WorkshopError as exc:
                    _raise_with_root_cause(lab, entry, exc)
        finally:
            _RUN.reset(token)
    progress.done(f"stack {lab.stack.name} is at the end of {target.id}")
