"""Chapter 08, database redundancy: one primary and one streaming standby (db2 until
a failover swaps them), reads balanced onto the standby, and a rehearsed failover
in which pgpool promoted the standby and no acknowledged write was lost.

Checks find the primary by asking each server (pg_is_in_recovery), so they hold
after a failover and after the old primary rejoined as a standby."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from workshop.records import FailoverDrill
from workshop.sql import literal, superuser_psql
from workshop.waiting import wait_until

from .postgresql import sql
from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "08-replication"
SERVERS, WEB = ("db1", "db2"), "web1"
DATABASE = "newsroom"
MAX_LAG_BYTES = 1024 * 1024
REPLICATION_WAIT, READS = 5.0, 20
MIN_DRILL_REQUESTS, MIN_WRITES_AFTER_KILL = 200, 10


def roles(target: Target) -> dict[str, str]:
    """primary, standby or down for db1 and db2, as each server says itself (both asked at once:
    every check of the chapter starts by asking)."""
    running = [name for name in SERVERS if target.state(name) == "running"]

    def role(name: str) -> str:
        result = target.ssh(name, superuser_psql(), stdin="SELECT pg_is_in_recovery()")
        return {"f": "primary", "t": "standby"}.get(result.stdout.strip(), "down")

    with ThreadPoolExecutor(max_workers=len(SERVERS)) as pool:
        said = dict(zip(running, pool.map(role, running)))
    return {name: said.get(name, "down") for name in SERVERS}


def pair(target: Target, verdict: Verdict) -> tuple[str, str]:
    """(primary, standby) names, or a ProbeError naming what is wrong with the pair."""
    target.record("db2")
    found = roles(target)
    verdict.see(roles=found)
    primaries = [name for name, role in found.items() if role == "primary"]
    standbys = [name for name, role in found.items() if role == "standby"]
    if len(primaries) > 1:
        raise ProbeError("db1 and db2 are both primaries (split brain): a server that was restored or restarted "
                         "without standby.signal accepts writes of its own. Clone it again with pg_basebackup -R")
    if not primaries:
        raise ProbeError("neither db1 nor db2 accepts writes: start the primary (systemctl start postgresql on it)")
    if not standbys:
        other = next(name for name in SERVERS if name != primaries[0])
        raise ProbeError(f"{other} is not a standby ({found[other]}): clone {primaries[0]} into it with "
                         "pg_basebackup -R -S SLOT so it starts in recovery and streams")
    return primaries[0], standbys[0]


def write_marker(target: Target, prefix: str) -> str:
    """Create a marker through the app on web1 (app -> pgpool -> primary); its value."""
    value = f"{prefix}-{uuid.uuid4().hex[:12]}"
    response = target.http(WEB, "/api/markers/", method="POST", data={"value": value})
    if response.status_code != 201:
        raise ProbeError(f"writing through the app on {WEB} failed (HTTP {response.status_code}): the app cannot "
                         "reach a primary through pgpool (SHOW pool_nodes on pgpool1)")
    return value


def has_markers(target: Target, host: str, values: list[str]) -> set[str]:
    """Which of `values` are marker rows on `host`."""
    if not values:
        return set()
    listed = ", ".join(literal(value) for value in values)
    return {row[0] for row in sql(target, f"SELECT value FROM articles_marker WHERE value IN ({listed})", DATABASE,
                                  host=host)}


@check(CHAPTER, "standby-in-recovery", "db2 runs as a standby (in recovery) beside a primary", points=1)
def standby_in_recovery(target: Target, verdict: Verdict) -> None:
    pair(target, verdict)


@check(CHAPTER, "streaming-with-slot", "the standby streams WAL from the primary through a replication slot",
       points=2)
def streaming_with_slot(target: Target, verdict: Verdict) -> None:
    primary, standby = pair(target, verdict)
    standby_ip = target.record(standby).private_ip
    senders = sql(target, "SELECT host(client_addr), application_name, state FROM pg_stat_replication", host=primary)
    receiver = sql(target, "SELECT status, sender_host, coalesce(slot_name, '') FROM pg_stat_wal_receiver",
                   host=standby)
    slots = sql(target, "SELECT slot_name FROM pg_replication_slots WHERE active AND slot_type = 'physical'",
                host=primary)
    verdict.see(pg_stat_replication=senders, wal_receiver=receiver, active_slots=[row[0] for row in slots])
    if not any(row[0] == standby_ip and row[2] == "streaming" for row in senders):
        verdict.fail(f"{standby} is in recovery but does not stream from {primary}: it replays only what it was "
                     f"restored with. Give it primary_conninfo (host={target.record(primary).private_ip} "
                     "user=replicator) — pg_basebackup -R writes it — and check pg_hba.conf's replication line")
    elif not receiver or not receiver[0][2] or receiver[0][2] not in [row[0] for row in slots]:
        verdict.fail(f"{standby} streams without a replication slot: if it falls behind, {primary} may recycle WAL "
                     "it still needs. Create one (pg_create_physical_replication_slot) and clone with "
                     "pg_basebackup -S SLOT")


@check(CHAPTER, "small-lag", "the standby has replayed (almost) everything the primary wrote", points=1)
def small_lag(target: Target, verdict: Verdict) -> None:
    primary, standby = pair(target, verdict)
    rows = sql(target, "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1)::bigint FROM "
                       f"pg_stat_replication WHERE client_addr = '{target.record(standby).private_ip}'", host=primary)
    lag = int(rows[0][0]) if rows else None
    verdict.see(replay_lag_bytes=lag)
    if lag is None or lag < 0:
        verdict.fail(f"{primary} has no replay position from {standby}: it is not streaming")
    elif lag > MAX_LAG_BYTES:
        verdict.fail(f"{standby} is {lag} bytes of WAL behind {primary}: is it replaying (pg_is_wal_replay_paused() "
                     "on it), or too slow for the write load?")


@check(CHAPTER, "fresh-write-on-standby", "a marker written through the app shows up on the standby", points=2)
def fresh_write_on_standby(target: Target, verdict: Verdict) -> None:
    primary, standby = pair(target, verdict)
    value = write_marker(target, "replication-probe")
    started = time.monotonic()
    if not wait_until(lambda: has_markers(target, standby, [value]), REPLICATION_WAIT, 0.2):
        verdict.see(marker=value, on_primary=bool(has_markers(target, primary, [value])))
        verdict.fail(f"the marker {value} written through the app is not on {standby} after "
                     f"{REPLICATION_WAIT:.0f}s: {standby} is not receiving {primary}'s WAL")
        return
    verdict.see(marker=value, visible_on_standby_after_s=round(time.monotonic() - started, 2))


@check(CHAPTER, "reads-reach-standby", "pgpool sends some of the app's reads to the standby", points=1)
def reads_reach_standby(target: Target, verdict: Verdict) -> None:
    _, standby = pair(target, verdict)
    query = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{DATABASE}'"
    before = int(sql(target, query, host=standby)[0][0])
    for _ in range(READS):
        target.http(WEB, "/api/markers/")
    # Statistics are flushed about once a second.
    after = wait_until(lambda: int(sql(target, query, host=standby)[0][0]), 3, 0.5, done=lambda count: count != before)
    verdict.see(reads_sent=READS, transactions_on_standby=after - before)
    if after == before:
        verdict.fail(f"none of {READS} reads through the app reached {standby}: list both servers in pgpool.conf "
                     "(backend_hostname0/1) with load_balance_mode = on and a backend_weight for each")


def drill(target: Target) -> FailoverDrill:
    return target.recorded(FailoverDrill, "db1", "workshop.failover.fail_over(lab, \"db1\", through=\"lb1\")")


@check(CHAPTER, "standby-promoted", "when db1 died, pgpool promoted db2 and nothing else took writes", points=2)
def standby_promoted(target: Target, verdict: Verdict) -> None:
    result = drill(target)
    found = roles(target)
    primaries = [name for name, role in found.items() if role == "primary"]
    timeline = (int(sql(target, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", host=primaries[0])[0][0],
                    16) if len(primaries) == 1 else None)
    verdict.see(roles=found, primary_timeline=timeline, drill_victim=result.victim,
                drill_survivor_promoted=result.survivor_promoted)
    if len(primaries) > 1:
        verdict.fail("db1 and db2 are both primaries (split brain): the old primary came back on its own. Stop it "
                     "and rejoin it as a standby (workshop.deploy.replication.rejoin_as_standby)")
    elif not primaries:
        verdict.fail("no database server accepts writes: pgpool's failover_command did not promote the standby "
                     "(journalctl -u pgpool2 and -t failover.sh on pgpool1)")
    if not result.survivor_promoted or (timeline is not None and timeline < 2):
        verdict.fail("the standby was not promoted when the primary died: set failover_command = "
                     "'/etc/pgpool2/failover.sh %d %h %P %m %H' in pgpool.conf, with health checks on, and run the "
                     "drill again")


@check(CHAPTER, "writes-after-failover", "the app writes again through pgpool after the failover", points=2)
def writes_after_failover(target: Target, verdict: Verdict) -> None:
    result = drill(target)
    primary = next((name for name, role in roles(target).items() if role == "primary"), None)
    value = write_marker(target, "after-failover")
    landed = bool(primary) and bool(has_markers(target, primary, [value]))
    verdict.see(drill_requests=result.requests, acknowledged_after_kill=result.acknowledged_after_kill,
                unavailable_s=result.unavailable_s, new_write_on=primary if landed else "nowhere")
    if result.requests < MIN_DRILL_REQUESTS:
        verdict.fail(f"the drill sent only {result.requests} writes: keep the default of 300")
    if result.acknowledged_after_kill < MIN_WRITES_AFTER_KILL:
        verdict.fail(f"only {result.acknowledged_after_kill} writes succeeded after db1 was killed: the app must "
                     "keep writing through the same pgpool address once db2 is promoted")
    if not landed:
        verdict.fail("a write through the app did not land on the primary: is the app's DATABASE_URL pgpool1's "
                     "address?")


@check(CHAPTER, "no-acknowledged-write-lost", "every write the app acknowledged during the drill is on the primary",
       points=2)
def no_acknowledged_write_lost(target: Target, verdict: Verdict) -> None:
    result = drill(target)
    primary = next((name for name, role in roles(target).items() if role == "primary"), None)
    if primary is None:
        raise ProbeError("no database server accepts writes: there is no primary to look for the drill's markers on")
    acknowledged = result.acknowledged_markers
    present = has_markers(target, primary, acknowledged)
    missing = [value for value in acknowledged if value not in present]
    verdict.see(acknowledged=len(acknowledged), found_on_primary=len(present), missing=missing[:5])
    if not acknowledged:
        verdict.fail("the drill recorded no acknowledged write: run it again with the app writing through pgpool")
    if missing:
        verdict.fail(f"{len(missing)} writes the app acknowledged are not on {primary} (e.g. {missing[0]}): the "
                     "standby was behind when the primary died. Make sure it streams (lag near 0) before the drill, "
                     "or make replication synchronous (synchronous_standby_names)")
