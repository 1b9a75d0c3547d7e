"""Chapter 08, database redundancy: one primary and one streaming standby (db2 until
a failover swaps them), reads balanced onto the standby, and a rehearsed failover
in which pgpool promoted the standby and no acknowledged write was lost (judged on
lb1's log of the drill's writes and the primary's marker rows, not on the record).

Checks find the primary by asking each server (pg_is_in_recovery), so they hold
after a failover and after the old primary rejoined as a standby."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from workshop.pgpool_view import SHOW_POOL_NODES, parse_pool_nodes
from workshop.records import FailoverDrill
from workshop.sql import literal, superuser_psql
from workshop.waiting import wait_until

from .course_answers import ANSWER_FILES, runs_answer
from .pgpool import POOLER, pgpool_settings
from .postgresql import sql
from .registry import check
from .result import Verdict
from .target import ProbeError, Target
from .wal_receiver import not_streaming

CHAPTER = "08-replication"
SERVERS, WEB = ("db1", "db2"), "web1"
DATABASE = "newsroom"
MAX_LAG_BYTES = 1024 * 1024
REPLICATION_WAIT, READS = 5.0, 20
MAX_SR_CHECK_PERIOD, MAX_DELAY_THRESHOLD = 10, 16 * 1024 ** 2
MIN_DRILL_REQUESTS, MIN_WRITES_AFTER_KILL = 200, 10
#: How long pgpool's auto_failback may take to attach a standby that streams again (sr_check_period and more).
REATTACH_WAIT_S = 15
RUN_DRILL = "workshop.failover.fail_over(lab, \"db1\", through=\"lb1\")"
NGINX_LOGS, LB = "/var/log/nginx/access.log*", "lb1"
ACKNOWLEDGED = 201  # what the app answers a write it committed


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


def pair(target: Target, verdict: Verdict, found: dict[str, str] | None = None) -> tuple[str, str]:
    """(primary, standby) names, or a ProbeError naming what is wrong with the pair; `found`:
    the roles the caller asked for already."""
    target.record("db2")
    found = roles(target) if found is None else found
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


#: The drill's checks judge lb1's log and the survivor: the killed primary may be down until it rejoins.
DRILL_STANDS_ON = (LB, "pgpool1")
ANSWER = ANSWER_FILES[CHAPTER]


@check(CHAPTER, "standby-in-recovery", "db2 runs as a standby (in recovery) beside a primary", points=1)
def standby_in_recovery(target: Target, verdict: Verdict) -> None:
    pair(target, verdict)


check(CHAPTER, "runs-your-clone", ANSWER.title, points=1, answers=(ANSWER.variable,),
      stands_on=(ANSWER.machine,))(runs_answer(ANSWER))


@check(CHAPTER, "streaming-with-slot", "the standby streams WAL from the primary through a replication slot",
       points=1, judges=("streaming",))
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
        verdict.fail(not_streaming(target, standby, primary, target.record(primary).private_ip))
    elif not receiver or not receiver[0][2] or receiver[0][2] not in [row[0] for row in slots]:
        verdict.fail(f"{standby} streams without a replication slot: if it falls behind, {primary} may recycle WAL "
                     "it still needs. Clone again with pg_basebackup -C -S SLOT (it creates the slot on the primary "
                     "and -R names it in primary_slot_name)")
    elif not any(row[0] == standby_ip and row[1] == standby for row in senders):
        names = sorted({row[1] for row in senders if row[0] == standby_ip})
        verdict.fail(f"{standby} streams as application_name {', '.join(map(repr, names))}, not {standby!r}: the primary "
                     f"knows a standby by that name (pg_stat_replication, synchronous_standby_names in 08b). Clone "
                     f"again with application_name={standby} in pg_basebackup's -d connection string")


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


def pool_nodes(target: Target) -> dict[str, dict[str, str]]:
    """pgpool1's own view of db1 and db2 (SHOW pool_nodes): status, role, select_cnt, replication_delay."""
    result = target.ssh(POOLER, SHOW_POOL_NODES)
    if not result.ok:
        raise ProbeError(f"pgpool1 did not answer SHOW pool_nodes ({result.stderr.strip()[:200]}): is pgpool2 "
                         "running there (systemctl status pgpool2), deployed with pgpool.configure_pgpool?")
    return parse_pool_nodes(result.stdout, {target.record(name).private_ip: name for name in SERVERS})


@check(CHAPTER, "lagging-standby-skipped", "pgpool sends no reads to a standby that falls behind", points=1)
def lagging_standby_skipped(target: Target, verdict: Verdict) -> None:
    """Pause the standby's replay, write more WAL on the primary than delay_threshold allows,
    and count, in pgpool's own select_cnt, the app's reads it still sends the standby (replay
    resumed afterwards, whatever happens)."""
    primary, standby = pair(target, verdict)
    settings = pgpool_settings(target)
    threshold, period = int(settings.get("delay_threshold") or 0), int(settings.get("sr_check_period") or 10)
    verdict.see(delay_threshold=threshold, sr_check_period=period)
    if threshold <= 0:
        verdict.fail("pgpool.conf sets no delay_threshold, so pgpool keeps sending reads to a standby however far "
                     "behind it is (one that stopped streaming serves ever older rows): set delay_threshold = "
                     "1048576 (bytes of WAL) and reload pgpool2")
        return
    if threshold > MAX_DELAY_THRESHOLD:
        verdict.fail(f"delay_threshold = {threshold} lets a standby fall {threshold // 1024 ** 2} MB of WAL behind "
                     f"before pgpool stops reading from it; set it at most {MAX_DELAY_THRESHOLD} (16 MB)")
        return
    if not 0 < period <= MAX_SR_CHECK_PERIOD:
        verdict.fail(f"sr_check_period = {period}: pgpool measures the standby's delay only every sr_check_period "
                     f"seconds (0: never); set it between 1 and {MAX_SR_CHECK_PERIOD}")
        return
    try:
        sql(target, "SELECT pg_wal_replay_pause()", host=standby)
        sql(target, f"SELECT pg_logical_emit_message(false, 'workshop-lag-probe', repeat('x', {threshold * 2}))",
            host=primary)
        # pgpool measures the delay every sr_check_period s: wait until SHOW pool_nodes has the
        # standby behind (the figure its load balancer reads), or two periods at most
        before = wait_until(lambda: pool_nodes(target), 2 * period + 1, 0.25,
                            done=lambda nodes: _delay_bytes(nodes.get(standby, {})) > threshold)
        for _ in range(READS):
            target.http(WEB, "/api/markers/")
        after = pool_nodes(target)
    finally:
        sql(target, "SELECT pg_wal_replay_resume()", host=standby)
    sent = {name: int(after[name]["select_cnt"]) - int(before[name]["select_cnt"]) for name in (primary, standby)}
    verdict.see(reads_sent=READS, reads_pgpool_sent=sent, standby_delay_bytes=after[standby]["replication_delay"])
    if sent[standby]:
        verdict.fail(f"pgpool sent {sent[standby]} of the app's reads to {standby} while it was {threshold * 2} bytes "
                     f"of WAL behind {primary}, over pgpool.conf's delay_threshold = {threshold}: is that the "
                     "pgpool.conf pgpool1 runs (pgpool2 reloaded), and can sr_check_user log in to both servers?")
    elif not sent[primary]:
        verdict.fail(f"none of {READS} reads through the app on {WEB} reached pgpool's servers: does the app's "
                     "DATABASE_URL point at pgpool1?")


def _delay_bytes(node: dict[str, str]) -> int:
    """A server's replication_delay in SHOW pool_nodes (bytes of WAL; 0 when pgpool shows none)."""
    delay = node.get("replication_delay", "")
    return int(delay) if delay.isdigit() else 0


@dataclass(frozen=True)
class WitnessedDrill:
    """The recorded failover drill as the servers saw it: lb1's status for each of its writes
    (its log names each write's number) and which of their markers the primary holds. The
    checks judge these numbers, not the file's."""

    record: FailoverDrill
    primary: str | None
    statuses: dict[int, int]  # write number -> lb1's answer
    on_primary: frozenset[int]

    @property
    def acknowledged(self) -> list[int]:
        return sorted(index for index, status in self.statuses.items() if status == ACKNOWLEDGED)

    @property
    def lost(self) -> list[int]:
        return [index for index in self.acknowledged if index not in self.on_primary]

    @property
    def acknowledged_after_outage(self) -> int:
        """Writes acknowledged after the first one that failed (after the kill, if none did): they
        can only have been committed by the promoted standby."""
        failed = [index for index, status in self.statuses.items() if status != ACKNOWLEDGED]
        start = min(failed) if failed else self.record.killed_after
        return sum(1 for index in self.acknowledged if index > start)


def witnessed_drill(target: Target, verdict: Verdict, found: dict[str, str] | None = None) -> WitnessedDrill:
    """The recorded drill, re-read from lb1's access log and the current primary (`found`: the
    servers' roles, when already asked); a ProbeError if they show no sign of it (another
    stack's drill, an edited record, catch-up's)."""
    result = target.recorded(FailoverDrill, "db1", RUN_DRILL)
    if result.marker_prefix != f"failover-{result.run_id}-":
        raise ProbeError(f"the recorded failover drill's markers ({result.marker_prefix}...) are not its run's "
                         f"(failover-{result.run_id}-...): the record was edited; run it again ({RUN_DRILL})")
    seen = target.logged_run(LB, result, NGINX_LOGS, prefix=True)
    statuses = {int(line.agent[len(result.agent) + len(" write/"):]): line.status for line in seen.lines
                if re.fullmatch(r" write/\d{4}", line.agent[len(result.agent):])}
    primary = next((name for name, role in (found or roles(target)).items() if role == "primary"), None)
    query = f"SELECT value FROM articles_marker WHERE starts_with(value, {literal(result.marker_prefix)})"
    values = [] if primary is None else [row[0] for row in sql(target, query, DATABASE, host=primary)]
    on_primary = frozenset(int(value[len(result.marker_prefix):]) for value in values
                           if value[len(result.marker_prefix):].isdigit())
    verdict.see(drill_writes_on_lb1=len(statuses), drill_markers_on_primary=len(on_primary))
    if primary is not None and not on_primary:
        raise ProbeError(f"{primary} holds no marker of the recorded drill (run {result.run_id}): its writes never "
                         f"reached this stack's database, or the record was edited; run it again ({RUN_DRILL})")
    if result.requests > len(statuses):
        raise ProbeError(f"the record claims {result.requests} writes, but lb1's access log shows {len(statuses)} of "
                         f"its run ({result.run_id}): the record was edited; run the drill again ({RUN_DRILL})")
    return WitnessedDrill(result, primary, statuses, on_primary)


@check(CHAPTER, "standby-promoted", "when db1 died, pgpool promoted db2 and nothing else took writes", points=2,
       stands_on=DRILL_STANDS_ON)
def standby_promoted(target: Target, verdict: Verdict) -> None:
    witnessed = witnessed_drill(target, verdict)
    result = witnessed.record
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


@check(CHAPTER, "writes-after-failover", "the app writes again through pgpool after the failover", points=2,
       stands_on=DRILL_STANDS_ON)
def writes_after_failover(target: Target, verdict: Verdict) -> None:
    witnessed = witnessed_drill(target, verdict)
    primary = witnessed.primary
    value = write_marker(target, "after-failover")
    landed = bool(primary) and bool(has_markers(target, primary, [value]))
    after = witnessed.acknowledged_after_outage
    verdict.see(drill_requests=len(witnessed.statuses), acknowledged_after_outage_on_lb1=after,
                recorded_acknowledged_after_kill=witnessed.record.acknowledged_after_kill,
                unavailable_s=witnessed.record.unavailable_s, new_write_on=primary if landed else "nowhere")
    if len(witnessed.statuses) < MIN_DRILL_REQUESTS:
        verdict.fail(f"the drill sent only {len(witnessed.statuses)} writes: keep the default of 300")
    if after < MIN_WRITES_AFTER_KILL:
        verdict.fail(f"lb1's access log shows only {after} writes acknowledged after the drill's first failed one: "
                     "the app must keep writing through the same pgpool address once db2 is promoted")
    if not landed:
        verdict.fail("a write through the app did not land on the primary: is the app's DATABASE_URL pgpool1's "
                     "address?")


@check(CHAPTER, "no-acknowledged-write-lost", "every write the app acknowledged during the drill is on the primary",
       points=2, stands_on=DRILL_STANDS_ON)
def no_acknowledged_write_lost(target: Target, verdict: Verdict) -> None:
    witnessed = witnessed_drill(target, verdict)
    if witnessed.primary is None:
        raise ProbeError("no database server accepts writes: there is no primary to look for the drill's markers on")
    acknowledged, lost = witnessed.acknowledged, witnessed.lost
    missing = [witnessed.record.marker_prefix + f"{index:04d}" for index in lost]
    verdict.see(acknowledged_on_lb1=len(acknowledged), recorded_acknowledged=witnessed.record.acknowledged,
                found_on_primary=len(acknowledged) - len(lost), missing=missing[:5])
    if not acknowledged:
        verdict.fail("lb1 acknowledged none of the drill's writes: run it again with the app writing through pgpool")
    if witnessed.record.lost < len(lost):
        verdict.fail(f"the record claims {witnessed.record.lost} acknowledged writes lost, but {len(lost)} that lb1 "
                     f"acknowledged are not on {witnessed.primary}: the record was edited")
    if missing:
        verdict.fail(f"{len(missing)} writes the app acknowledged are not on {witnessed.primary} (e.g. {missing[0]}): "
                     "the standby was behind when the primary died. Make sure it streams (lag near 0) before the "
                     "drill, or make replication synchronous (synchronous_standby_names)")



@check(CHAPTER, "pair-whole-again", "after the drill the old primary is back as a standby, and pgpool has both",
       points=2, stands_on=DRILL_STANDS_ON)
def pair_whole_again(target: Target, verdict: Verdict) -> None:
    found = roles(target)
    witnessed_drill(target, verdict, found)  # the student's own drill: a pair that never failed over earns nothing
    down = [name for name, role in found.items() if role == "down"]
    primaries = [name for name, role in found.items() if role == "primary"]
    if down and len(primaries) == 1:
        verdict.see(roles=found)
        raise ProbeError(f"{down[0]} is not back since the drill killed it: starting it is not enough (it would come "
                         f"back a primary of its own). Clone {primaries[0]} into it and give it back to pgpool: "
                         f"replication.rejoin_as_standby(lab, \"{down[0]}\", primary=\"{primaries[0]}\")")
    primary, standby = pair(target, verdict, found)
    receiver = sql(target, "SELECT status, sender_host FROM pg_stat_wal_receiver", host=standby)
    verdict.see(wal_receiver=receiver)
    if not receiver or receiver[0][:2] != ["streaming", target.record(primary).private_ip]:
        raise ProbeError(not_streaming(target, standby, primary, target.record(primary).private_ip))
    nodes = wait_until(lambda: pool_nodes(target), REATTACH_WAIT_S, 1,
                       done=lambda nodes: all(node.get("status") in ("up", "waiting") for node in nodes.values()))
    verdict.see(pool_nodes={name: node.get("status") for name, node in nodes.items()})
    held = [name for name, node in nodes.items() if node.get("status") not in ("up", "waiting")]
    if held:
        verdict.fail(f"pgpool still holds {', '.join(held)} down (SHOW pool_nodes on pgpool1), so no read goes there "
                     f"and it cannot take over next time: attach it again with `pcp_attach_node -w -h localhost -U "
                     "pcpadmin -n NODE` on pgpool1 (rejoin_as_standby does it)")
