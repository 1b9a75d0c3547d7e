"""Catch up: bring a stack to the end state of chapter N with the reference
deploys, so a student who fell behind (or a learner starting mid-course)
can continue. Idempotent: what is already in place is left as it is.
Each chapter's step is the function named after the chapter (workshop/chapters.py):
step(lab, progress, target), `target` the chapter caught up to.

Fast enough to use in class: every machine the target chapter needs starts at once,
the web servers get their packages at once, the machines of one chapter are deployed
concurrently where they do not depend on each other, and catch-up's own load tests
and drills are short (the "catch-up" profile; the fewest requests the checks accept):
they exist so the next chapter can start, are marked as catch-up's (in the servers' logs
too) and earn no marks; a student's own runs replace them.

Example::

    catch_up(lab, 3)        # web1 on mod_wsgi, baseline load test, PostgreSQL on db1
"""

from __future__ import annotations

import requests

from . import grading, loadtest
from .app import create_marker, health
from .chapters import Chapter, chapters_through, machines_through
from .concurrency import on_each
from .deploy.app import app_environment, environment_in_place
from .deploy.media import deploy_media_server
from .deploy.memcached import deploy_cache_servers
from .deploy.nginx import deploy_load_balancer
from .deploy.pgpool import DATABASE_SERVERS, deploy_pgpool, pooled, restrict_to_pooler, running
from .deploy.postgres import database_url, deploy_database_server
from .deploy.releases import deploy_releases
from .deploy.replication import ensure_standby
from .deploy.settings import reference_settings
from .deploy.varnish import deploy_varnish
from .deploy.web import deploy_release_web_server, deploy_web_server, install_python
from .failover import fail_over
from .failure import crash_web_server
from .lab import Lab
from .progress import Progress
from .providers import RUNNING
from .records import CrashDrill, FailoverDrill, LoadTest, NotRecorded, Record, RecordFolders

WEB_SERVERS = ("web1", "web2")
#: Catch-up's drills: the fewest requests the checks accept (tests/unit/test_catchup_runs.py), sent
#: as fast as the stack answers.
CRASH_DRILL = {"requests_total": 200, "interval": 0.005, "kill_after": 50}
FAILOVER_DRILL = {"requests_total": 200, "interval": 0.005, "kill_after": 60}


def _recorded(lab: Lab, kind: type[Record], key: str) -> bool:
    """Whether the stack has the record its chapter's check needs (not another stack's, not damaged)."""
    try:
        RecordFolders.of(lab).made_on(kind, key, lab.stack.name, run="workshop catch-up")
    except NotRecorded:
        return False
    return True


def _deploy_web_servers(lab: Lab, progress: Progress, chapter: int, target: Chapter) -> None:
    """Both web servers, at once, with the app's settings of the end of `chapter`; nothing
    when they run the target's settings already and a later chapter of this catch-up
    deploys them again (this chapter's settings would only take them back a step)."""
    last = max(entry.number for entry in chapters_through(target.number) if entry.app_settings)
    if chapter < last:
        end_state = app_environment(lab, **reference_settings(lab, target.number))
        if all(environment_in_place(lab.instance(name), end_state) for name in WEB_SERVERS):
            return
    settings = reference_settings(lab, chapter)
    on_each(WEB_SERVERS, lambda name: deploy_release_web_server(lab, name, progress, **settings))


def getting_started(lab: Lab, progress: Progress, target: Chapter) -> None:
    lab.up("web1")


def mod_wsgi(lab: Lab, progress: Progress, target: Chapter) -> None:
    """web1 on SQLite, load-tested; skipped on the way to a later chapter once the baseline exists."""
    if target.number == 2 or not _recorded(lab, LoadTest, "02-baseline"):
        web1 = deploy_web_server(lab, "web1", progress)
        if not _recorded(lab, LoadTest, "02-baseline"):
            loadtest.run(lab, "02-baseline", web1, by_catch_up=True)


def postgresql(lab: Lab, progress: Progress, target: Chapter) -> None:
    """db1 serving the app's data; web1 redeployed in place only when it is not using db1 yet.
    Nothing once pgpool serves: chapters 07-08 own the database tier from then on (db1
    admits the app from pgpool only, and may be a standby after a failover)."""
    if pooled(lab):
        return
    deploy_database_server(lab, "db1", progress)
    web1 = lab.instance("web1")
    if target.number == 3 or _database_host(web1) != lab.planned_ip("db1"):
        web1 = deploy_web_server(lab, "web1", progress, database_url=database_url(lab))
    if create_marker(web1, "before-restart") is not None:
        lab.restart("web1")


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
    """media1 for shared media, web1 and web2 on releases with it, lb1 in front; a crash drill."""
    deploy_media_server(lab, "media1", progress)
    _deploy_web_servers(lab, progress, 5, target)
    deploy_load_balancer(lab, "lb1", WEB_SERVERS, progress)
    if not _recorded(lab, CrashDrill, "web1"):
        crash_web_server(lab, "web1", through="lb1", by_catch_up=True, **CRASH_DRILL)


def caching(lab: Lab, progress: Progress, target: Chapter) -> None:
    """memcached on cache1 and cache2; web1 and web2 redeployed with both in CACHE_SERVERS."""
    deploy_cache_servers(lab, progress=progress)
    _deploy_web_servers(lab, progress, 6, target)


def pgpool(lab: Lab, progress: Progress, target: Chapter) -> None:
    """pgpool1 in front of the database (of both servers once chapter 08 added db2), the web
    servers through it, the database admitting the app's user from pgpool1 only."""
    pair = _pair_deployed(lab)
    backends = DATABASE_SERVERS if pair else ("db1",)
    replication_next = pair and target.number >= 8  # chapter 08's step deploys pgpool over both anyway
    if not replication_next:
        deploy_pgpool(lab, "pgpool1", backends, progress)
    _deploy_web_servers(lab, progress, 7, target)
    if not replication_next:
        restrict_to_pooler(lab, running(lab, backends))


def _pair_deployed(lab: Lab) -> bool:
    """Whether chapter 08 made db2 a database server (it may be down: a failed primary)."""
    states = lab.provider.states(lab.require_stack())
    return states.get("db2") not in (None, RUNNING) or lab.serves("db2", "postgresql@15-main")


def replication(lab: Lab, progress: Progress, target: Chapter) -> None:
    """A streaming standby of the primary, pgpool balancing reads over both; the failover
    drill once, after which the old primary rejoins as a standby."""
    ensure_standby(lab, progress)
    deploy_pgpool(lab, "pgpool1", DATABASE_SERVERS, progress)
    restrict_to_pooler(lab, DATABASE_SERVERS)
    if not _recorded(lab, FailoverDrill, "db1"):
        fail_over(lab, "db1", through="lb1", by_catch_up=True, **FAILOVER_DRILL)
        ensure_standby(lab, progress)


def varnish(lab: Lab, progress: Progress, target: Chapter) -> None:
    """Varnish on varnish1 in front of lb1."""
    deploy_varnish(lab, "varnish1", "lb1", progress)


def final_load_test(lab: Lab, progress: Progress, target: Chapter) -> None:
    """The load test against varnish1, once."""
    if not _recorded(lab, LoadTest, "10-final"):
        loadtest.run(lab, "10-final", lab.instance("varnish1"), by_catch_up=True)


@grading.changes("catch up to chapter {chapter}")
def catch_up(lab: Lab, chapter: int | str) -> None:
    """Run the reference deploy of every chapter up to and including `chapter`."""
    reached = chapters_through(chapter)
    target = reached[-1]
    progress = Progress(f"catch up to {target.id}")
    machines = machines_through(target.number)
    progress.say(target.id, f"starting {', '.join(machines)}")
    lab.up(*machines)
    install_python(lab, [name for name in machines if name in WEB_SERVERS], progress)
    for entry in reached:
        progress.say(entry.id, "bringing the stack to this chapter's end state")
        entry.catch_up_step()(lab, progress, target)
    progress.done(f"stack {lab.stack.name} is at the end of {target.id}")
