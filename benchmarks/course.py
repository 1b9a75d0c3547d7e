"""Whole-course figures, measured in one run on this machine (written to docs/performance.md):

- full stack up and caught up to chapter 10 from nothing, image present, then the same
  catch-up again on the stack it left (what a student re-running it waits);
- memory of the full stack, idle, and each instance's share;
- throughput of the final stack over the chapter 02 baseline, from catch-up's own short
  runs (the "catch-up" profile: the baseline's load for 5 s; benchmarks.front_door
  measures the full profile).

Run: .venv/bin/python -m benchmarks.course   (creates and removes a uniquely named stack)
The autograde time of a whole submission is printed by
`.venv/bin/python -m pytest -s tests/e2e/test_full_course.py`.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.foundation import megabytes
from workshop import loadtest
from workshop.catchup import catch_up
from workshop.chapters import CHAPTERS
from workshop.engine import find_engine
from workshop.image import ensure_image
from workshop.lab import open_lab
from workshop.providers.local import container_name

SETTLE_S = 20
LAST = CHAPTERS[-1]


def stack_memory_mb(engine, containers: list[str]) -> dict[str, float]:
    """Each container's memory after SETTLE_S seconds idle, as the engine accounts it."""
    time.sleep(SETTLE_S)
    stats = json.loads(engine.run("stats", "--no-stream", "--format", "json", *containers).stdout)
    return {entry["name"]: megabytes(entry["mem_usage"].split("/")[0]) for entry in stats}


def main() -> None:
    engine = find_engine()
    ensure_image(engine)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        lab = open_lab(f"bench-{uuid.uuid4().hex[:6]}", folder=Path(scratch))
        try:
            started = time.monotonic()
            catch_up(lab, LAST.number)
            catch_up_s = time.monotonic() - started
            catch_up(lab, LAST.number)
            repeat_s = time.monotonic() - started - catch_up_s
            memory = stack_memory_mb(engine, [container_name(lab.stack, name) for name in lab.stack.instances])
            results = loadtest.recorded(lab)
        finally:
            lab.down()
    baseline, final = results[loadtest.BASELINE_STAGE], results["10-final"]
    print(f"full stack ({len(memory)} instances) up and caught up to {LAST.id}, image present: {catch_up_s:.0f} s; "
          f"again on that stack: {repeat_s:.1f} s")
    total = sum(memory.values())
    per_instance = ", ".join(f"{name.rsplit('-', 1)[-1]} {mb:.0f} ({mb / total:.0%})"
                             for name, mb in sorted(memory.items(), key=lambda item: -item[1]))
    print(f"full stack memory, idle: {total:.0f} MB: {per_instance}")
    print(f"throughput ({baseline['profile']['name']} profile, {baseline['profile']['duration_s']} s): baseline {baseline['throughput_rps']:.0f} req/s (p95 {baseline['latency_ms']['p95']:.0f} ms), "
          f"final {final['throughput_rps']:.0f} req/s (p95 {final['latency_ms']['p95']:.1f} ms): "
          f"ratio {loadtest.throughput_ratio(results, '10-final'):.1f}x")


if __name__ == "__main__":
    main()
