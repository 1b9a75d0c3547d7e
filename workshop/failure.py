"""Failure drills: crash a machine while a bounded probe keeps using the stack,
then bring it back and time the recovery.

>>> result = crash_web_server(lab, "web1", through="lb1")
>>> result["failed"], result["recovery_s"]
"""

from __future__ import annotations

import json
import threading
import time

import requests

from . import grading
from .lab import Lab
from .progress import Progress

RECOVERY_TIMEOUT = 60


def crash_web_server(lab: Lab, victim: str = "web1", through: str = "lb1", requests_total: int = 300,
                     interval: float = 0.02, kill_after: int = 60) -> dict | None:
    """Send `requests_total` GETs of /health/ through `through`, `interval` s apart; kill
    `victim` (no shutdown: a crash) after `kill_after` of them; then start it again and
    measure how long until `through` routes to it again. Saves and returns the results."""
    name = f"crash-{victim}"
    if grading.active():
        grading.skip(f"crash {victim}")
        return _recorded(lab, name)
    stack, lb = lab.require_stack(), lab.instance(through)
    progress = Progress(f"crash drill: {victim}")
    progress.say(victim, f"{requests_total} requests through {through}, {interval * 1000:.0f} ms apart; "
                         f"killing {victim} after {kill_after}")
    samples, killer = [], None
    for index in range(requests_total):
        if index == kill_after:
            killer = threading.Thread(target=lab.provider.kill, args=(stack, victim))
            killer.start()
        started = time.monotonic()
        try:
            response = requests.get(lb.url("/health/"), timeout=5)
            samples.append((response.status_code, response.headers.get("X-Served-By"), time.monotonic() - started))
        except requests.RequestException:
            samples.append((None, None, time.monotonic() - started))
        time.sleep(interval)
    killer.join()
    failed = sum(1 for status, _, _ in samples if status != 200)
    progress.say(victim, f"{failed} of {len(samples)} requests failed; starting {victim} again")
    restarted = time.monotonic()
    lab.provider.start(stack, victim, progress)
    recovery = _time_until_served_by(lab, through, victim, restarted)
    after_kill = [served for status, served, _ in samples[kill_after + 10:] if status == 200]
    result = {
        "stack": stack.name, "victim": victim, "through": through, "requests": len(samples), "failed": failed,
        "killed_after": kill_after, "max_latency_s": max(latency for _, _, latency in samples),
        "served_by_after_kill": sorted(set(after_kill)), "recovery_s": recovery, "finished_at": time.time(),
    }
    _save(lab, name, result)
    progress.done(f"{failed} failed requests; {victim} back in rotation after "
                  f"{'%.1f s' % recovery if recovery is not None else 'never (within the limit)'}")
    return result


def _time_until_served_by(lab: Lab, through: str, victim: str, since: float) -> float | None:
    lb = lab.instance(through)
    while time.monotonic() - since < RECOVERY_TIMEOUT:
        try:
            if requests.get(lb.url("/health/"), timeout=5).headers.get("X-Served-By") == victim:
                return time.monotonic() - since
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return None


def _save(lab: Lab, name: str, result: dict) -> None:
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    for folder in (lab.stack.folder / "drills", lab.folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(text)


def _recorded(lab: Lab, name: str) -> dict | None:
    path = lab.folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
