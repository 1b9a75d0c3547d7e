"""Database failover drills (chapter 08): kill the primary while the app keeps
writing through pgpool, and count what survived.

Example::

    drill = fail_over(lab, "db1", through="lb1")
    drill["unavailable_s"], drill["lost"]
    replication_experiment(lab, synchronous=False)["lost"]   # the standby cut off first

Each write is a marker row created through the app (POST /api/markers/). A
write the app acknowledged (HTTP 201) was committed by a primary; after the
failover, every acknowledged marker must be on the new primary.
"""

from __future__ import annotations

import time

import requests

from . import grading
from .deploy.pgpool import DATABASE_SERVERS, find_primary, is_primary
from .deploy.postgres import DATABASE, psql
from .deploy.replication import rejoin_as_standby, set_synchronous
from .errors import StackError
from .failure import Sample, probe_during_kill, recorded_drill
from .lab import Instance, Lab
from .progress import Progress
from .records import FailoverDrill, RecordFolders, failover_agent, new_run
from .sql import literal
from .waiting import wait_until

PROMOTION_TIMEOUT = 30
CUT_OFF_TIMEOUT = 10


def unavailable_window(samples: list[Sample], ok: int = 201) -> float | None:
    """Seconds from the first failed request to the answer of the first success after
    the last failure: how long the app could not write. 0 when nothing failed, None
    when it never wrote again within the drill."""
    failed = [sample for sample in samples if sample.status != ok]
    if not failed:
        return 0.0
    back = [sample for sample in samples if sample.index > failed[-1].index and sample.status == ok]
    if not back:
        return None
    return back[0].sent_s + back[0].latency_s - failed[0].sent_s


@grading.changes("fail over from {victim}",
                 fallback=lambda lab, victim, **_: recorded_drill(lab, FailoverDrill, victim))
def fail_over(lab: Lab, victim: str = "db1", through: str = "lb1", requests_total: int = 300,
              interval: float = 0.02, kill_after: int = 100) -> dict | None:
    """Create `requests_total` marker rows through `through`, `interval` s apart, and kill
    `victim` (the primary) after `kill_after` of them; wait for pgpool to promote the
    other server; count acknowledged markers it does not have. Saves and returns the results.
    The writes race the kill, as the lesson has it: with asynchronous replication the last
    commits acknowledged before it may not have reached the standby."""
    result = _drill(lab, victim, through, requests_total, interval, kill_after, request_timeout=5.0)
    RecordFolders.of(lab).save(result)
    return result.to_dict()


def _drill(lab: Lab, victim: str, through: str, requests_total: int, interval: float, kill_after: int,
           request_timeout: float) -> FailoverDrill:
    stack, entry, run = lab.require_stack(), lab.instance(through), new_run()
    survivor = lab.instance(next(name for name in DATABASE_SERVERS if name != victim))
    progress = Progress(f"failover drill: {victim}")
    prefix = f"failover-{run['run_id']}-"  # the run's markers, on the primary and in its logs
    progress.say(victim, f"{requests_total} writes through {through}, {interval * 1000:.0f} ms apart; "
                         f"killing {victim} after {kill_after}")

    def write(index: int) -> requests.Response:
        return requests.post(entry.url("/api/markers/"), data={"value": f"{prefix}{index:04d}"},
                             headers={"User-Agent": failover_agent(victim, run["run_id"], index)},
                             timeout=request_timeout)

    samples, killed_at = probe_during_kill(lab, victim, write, requests_total, interval, kill_after)
    acknowledged = [f"{prefix}{sample.index:04d}" for sample in samples if sample.status == 201]
    promoted = _wait_until_primary(survivor)
    present = set(psql(survivor, f"SELECT value FROM articles_marker WHERE starts_with(value, {literal(prefix)})",
                       DATABASE, readonly=True).stdout.split())
    lost = [value for value in acknowledged if value not in present]
    window = unavailable_window(samples)
    result = FailoverDrill(
        **run, stack=stack.name, victim=victim, survivor=survivor.name, through=through,
        marker_prefix=prefix, requests=len(samples), killed_after=kill_after, killed_at_s=killed_at,
        acknowledged=len(acknowledged), acknowledged_markers=acknowledged,
        acknowledged_after_kill=sum(1 for s in samples if s.status == 201 and s.sent_s > killed_at),
        failed=sum(1 for s in samples if s.status != 201),
        timed_out_before_kill=sum(1 for s in samples if s.status is None and s.sent_s < killed_at),
        unavailable_s=window, survivor_promoted=promoted, lost=len(lost), lost_markers=lost,
        finished_at=time.time(),
    )
    progress.done(f"{result.failed} failed writes, {len(lost)} acknowledged writes lost; writes resumed after "
                  f"{'%.2f s' % window if window is not None else 'never (within the drill)'}")
    return result


def _wait_until_primary(db: Instance, timeout: float = PROMOTION_TIMEOUT) -> bool:
    return bool(wait_until(lambda: is_primary(db), timeout, 0.5))


@grading.changes("cut {standby.name} off from the primary")
def cut_off(standby: Instance) -> None:
    """Stop `standby` receiving WAL, as if the network between it and the primary had
    failed: it keeps serving what it has, and falls behind."""
    psql(standby, "ALTER SYSTEM SET primary_conninfo = '';\nSELECT pg_reload_conf();")
    def receivers() -> str:
        return psql(standby, "SELECT count(*) FROM pg_stat_wal_receiver", readonly=True).stdout.strip()

    if wait_until(receivers, CUT_OFF_TIMEOUT, 0.2, done=lambda count: count == "0") != "0":
        raise StackError(f"{standby.name}'s WAL receiver is still running after {CUT_OFF_TIMEOUT}s")


@grading.changes("replication experiment")
def replication_experiment(lab: Lab, synchronous: bool, through: str = "lb1", writes_before_kill: int = 20,
                           requests_total: int = 150) -> dict | None:
    """The failover drill with the standby cut off first: with asynchronous replication the
    primary acknowledges writes the standby never gets, and loses them when it dies; with
    synchronous replication those commits wait instead (each write times out after 1 s)
    and nothing acknowledged is lost. Afterwards the old primary rejoins as a standby,
    so the pair is whole again (with the roles swapped)."""
    primary = find_primary(lab)
    standby = lab.instance(next(name for name in DATABASE_SERVERS if name != primary.name))
    set_synchronous(primary, standby.name if synchronous else None)
    cut_off(standby)
    result = _drill(lab, primary.name, through, requests_total, 0.02, writes_before_kill, request_timeout=1.0)
    rejoin_as_standby(lab, primary.name, standby.name)
    return {"mode": "synchronous" if synchronous else "asynchronous", **result.to_dict()}
