"""Failure drills: crash a machine while a bounded probe keeps using the stack,
then bring it back and time the recovery.

Example::

    result = crash_web_server(lab, "web1", through="lb1")
    result["failed"], result["recovery_s"]

`probe_during_kill` is the loop every drill shares (chapter 08's database
failover too): a fixed number of requests, a time limit, a crash in the middle.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import requests

from . import grading
from .lab import Lab
from .progress import Progress
from .records import CrashDrill, Record, RecordFolders, crash_agent, new_run
from .waiting import wait_until

RECOVERY_TIMEOUT = 60
DRILL_TIME_LIMIT = 120


@dataclass(frozen=True)
class Sample:
    """One request of a drill: when it was sent (s after the drill began), what came back."""

    index: int
    sent_s: float
    status: int | None
    served_by: str | None
    latency_s: float


def probe_during_kill(lab: Lab, victim: str, send: Callable[[int], requests.Response], requests_total: int,
                      interval: float, kill_after: int, time_limit: float = DRILL_TIME_LIMIT) -> tuple[list[Sample], float]:
    """Call `send(index)` (one HTTP request) `requests_total` times, `interval` s apart,
    for at most `time_limit` s; kill `victim` (no shutdown: a crash) as request
    `kill_after` is sent. Returns the samples and when the victim was dead (s)."""
    stack = lab.require_stack()
    samples, killed = [], {}

    def kill() -> None:
        lab.provider.kill(stack, victim)
        lab.forget_connections(victim)
        killed["at"] = time.monotonic() - began

    began, killer = time.monotonic(), threading.Thread(target=kill)
    for index in range(requests_total):
        if index == kill_after:
            killer.start()
        sent = time.monotonic()
        if sent - began > time_limit:
            break
        try:
            response = send(index)
            status, served_by = response.status_code, response.headers.get("X-Served-By")
        except requests.RequestException:
            status, served_by = None, None
        samples.append(Sample(index, sent - began, status, served_by, time.monotonic() - sent))
        time.sleep(interval)
    if killer.ident is None:  # the time limit came first: the crash still happens
        killer.start()
    killer.join()
    return samples, killed["at"]


@grading.changes("crash {victim}", fallback=lambda lab, victim, **_: recorded_drill(lab, CrashDrill, victim))
def crash_web_server(lab: Lab, victim: str = "web1", through: str = "lb1", requests_total: int = 300,
                     interval: float = 0.02, kill_after: int = 60) -> dict | None:
    """Send `requests_total` GETs of /health/ through `through`, `interval` s apart; kill
    `victim` (no shutdown: a crash) after `kill_after` of them; then start it again and
    measure how long until `through` routes to it again. Saves and returns the results."""
    stack, lb, run = lab.require_stack(), lab.instance(through), new_run()
    progress = Progress(f"crash drill: {victim}")
    progress.say(victim, f"{requests_total} requests through {through}, {interval * 1000:.0f} ms apart; "
                         f"killing {victim} after {kill_after}")
    tagged = {"User-Agent": crash_agent(victim, run["run_id"])}  # the run, in access logs
    samples, _ = probe_during_kill(
        lab, victim, lambda index: requests.get(lb.url("/health/"), timeout=5, headers=tagged),
        requests_total, interval, kill_after)
    failed = sum(1 for sample in samples if sample.status != 200)
    progress.say(victim, f"{failed} of {len(samples)} requests failed; starting {victim} again")
    restarted = time.monotonic()
    lab.provider.start(stack, victim, progress)
    lab.forget_connections(victim)
    recovery = _time_until_served_by(lab, through, victim, restarted)
    after_kill = [sample.served_by for sample in samples[kill_after + 10:] if sample.status == 200]
    result = CrashDrill(
        **run, stack=stack.name, victim=victim, through=through, requests=len(samples), failed=failed,
        killed_after=kill_after, max_latency_s=max(sample.latency_s for sample in samples),
        served_by_after_kill=sorted(set(after_kill)), recovery_s=recovery, finished_at=time.time(),
    )
    RecordFolders.of(lab).save(result)
    progress.done(f"{failed} failed requests; {victim} back in rotation after "
                  f"{'%.1f s' % recovery if recovery is not None else 'never (within the limit)'}")
    return result.to_dict()


def _time_until_served_by(lab: Lab, through: str, victim: str, since: float) -> float | None:
    lb = lab.instance(through)

    def served_by() -> str | None:
        return requests.get(lb.url("/health/"), timeout=5).headers.get("X-Served-By")

    try:
        back = wait_until(served_by, RECOVERY_TIMEOUT - (time.monotonic() - since), 0.2,
                          done=lambda server: server == victim, retry_on=(requests.RequestException,)) == victim
    except requests.RequestException:
        back = False
    return time.monotonic() - since if back else None


def crash_summary(drill: dict) -> str:
    """What a crash drill showed, as exercise 05b prints it: failed requests, the slowest one,
    and the victim's recovery, or a sentence saying it never came back (recovery_s is None)."""
    victim = drill["victim"]
    recovery = (f"{victim} back in rotation {drill['recovery_s']:.1f} s after it was started again"
                if drill["recovery_s"] is not None else
                f"{victim} was not back in rotation within {RECOVERY_TIMEOUT} s of being started again: is apache2 "
                f"enabled on it? (workshop ssh {victim}, systemctl status apache2), then run the drill again")
    return (f"{drill['failed']} of {drill['requests']} requests failed\n"
            f"slowest request: {drill['max_latency_s']:.2f} s\n{recovery}")


def recorded_drill(lab: Lab, kind: type[Record], victim: str) -> dict | None:
    """The results of an earlier drill of `victim` (what grading shows instead of a new run)."""
    drill = RecordFolders.of(lab).load(kind, victim)
    return drill.to_dict() if drill else None
