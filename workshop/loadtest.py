"""Load tests with wrk: a named, bounded profile, results saved per stage, plots.

wrk (from Debian) measures throughput: on 2 cores a Python load generator
tops out near the app's own speed and steals its CPU, so it cannot measure
the cached stacks of later chapters.

Example::

    result = run(lab, "02-baseline", web1)
    result["throughput_rps"], result["latency_ms"]["p95"]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import asdict

from . import configs, grading
from .errors import WorkshopError
from .lab import Instance, Lab
from .progress import Progress
from .records import LoadProfile, LoadTest, RecordFolders, loadtest_agent, new_run

PROFILES = {
    # Anonymous visitors reading the home page: 2 wrk threads, 32 connections, 15 s.
    "baseline": LoadProfile("baseline", threads=2, connections=32, duration_s=15),
    # The same load for 5 s: catch-up's own runs, there only so the next chapter can start.
    "catch-up": LoadProfile("catch-up", threads=2, connections=32, duration_s=5),
}
RESULT_PREFIX = "WORKSHOP-RESULT "


def recorded_before(lab: Lab, stage: str, **_) -> dict | None:
    """The stage's earlier results (what grading shows instead of a new run), or None."""
    result = RecordFolders.of(lab).load(LoadTest, stage)
    return result.to_dict() if result else None


@grading.changes("load test {stage}", fallback=recorded_before)
def run(lab: Lab, stage: str, target: Instance, profile: str = "baseline", port: int = 80,
        by_catch_up: bool = False) -> dict | None:
    """Run the profile against `target`'s public endpoint; save and return the results.
    `by_catch_up`: catch-up's own run (its short profile, marked as catch-up's in the servers' logs).

    While nbgrader grades, nothing is sent: the results recorded earlier are returned.
    """
    if by_catch_up:
        profile = "catch-up"
    if shutil.which("wrk") is None:
        raise WorkshopError("wrk is not installed: apt-get install -y wrk (make setup does it)")
    chosen = PROFILES[profile]
    url = target.url(chosen.path, port)
    progress = Progress(f"load test {stage}")
    progress.say(stage, f"wrk: {chosen.connections} connections for {chosen.duration_s}s against {url}")
    started = new_run(by_catch_up)
    completed = subprocess.run(
        ["wrk", f"-t{chosen.threads}", f"-c{chosen.connections}", f"-d{chosen.duration_s}s",
         f"--timeout={chosen.timeout_s}s", "-s", str(configs.path("wrk/report.lua")), url],
        capture_output=True, text=True, timeout=chosen.duration_s + 60,
        env={"PATH": "/usr/bin:/bin",
             "WORKSHOP_LOADTEST_AGENT": loadtest_agent(stage, started["run_id"], by_catch_up)},
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise WorkshopError(f"wrk failed (exit {completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    summary = json.loads(lines[-1][len(RESULT_PREFIX):])
    result = LoadTest.from_dict({
        **summary, **started, "stack": lab.stack.name, "stage": stage, "target": target.name, "url": url,
        "profile": asdict(chosen), "throughput_rps": summary["requests"] / summary["duration_s"],
        "error_rate": summary["failed"] / max(summary["requests"], 1), "finished_at": time.time(),
    })
    RecordFolders.of(lab).save(result)
    progress.done(f"{result.requests} requests, {result.throughput_rps:.0f} req/s, "
                  f"p50 {result.latency_ms.p50:.1f} ms, p95 {result.latency_ms.p95:.1f} ms, {result.failed} failed")
    return result.to_dict()


def recorded(lab: Lab) -> dict[str, dict]:
    """Every stage recorded properly for this lab (beside the notebook first, then in the stack's folder)."""
    return {stage: result.to_dict() for stage, result in RecordFolders.of(lab).load_all(LoadTest).items()}


BASELINE_STAGE = "02-baseline"


def throughput_ratio(results: dict[str, dict], stage: str, baseline: str = BASELINE_STAGE) -> float:
    """How many times the baseline's throughput `stage` reached (both with the same load)."""
    missing = [name for name in (stage, baseline) if name not in results]
    if missing:
        raise WorkshopError(f"no load test recorded for {', '.join(missing)}: run loadtest.run(lab, STAGE, target) "
                            "for it (or workshop catch-up) first")
    return results[stage]["throughput_rps"] / results[baseline]["throughput_rps"]


def comparison(results: dict[str, dict], baseline: str = BASELINE_STAGE) -> str:
    """A text table of every recorded stage: who ran it (the profile: `catch-up` for catch-up's
    own short runs), throughput, latency, failures, ratio to the baseline."""
    lines = [f"{'stage':<22}{'target':<10}{'profile':<10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'failed':>8}"
             f"{'x baseline':>12}"]
    for stage, result in results.items():
        ratio = f"{throughput_ratio(results, stage, baseline):.1f}" if baseline in results else "-"
        lines.append(f"{stage:<22}{result['target']:<10}{result['profile']['name']:<10}{result['throughput_rps']:>9.0f}"
                     f"{result['latency_ms']['p50']:>9.1f}{result['latency_ms']['p95']:>9.1f}"
                     f"{result['failed']:>8}{ratio:>12}")
    return "\n".join(lines)


def plot(results: dict[str, dict]):
    """Throughput and latency per stage, side by side (a matplotlib Figure); with no stage, a
    figure that says how to record one."""
    import matplotlib.pyplot as plt

    stages = list(results)
    if not stages:
        figure, axes = plt.subplots(figsize=(11, 1.2))
        axes.axis("off")
        axes.text(0.5, 0.5, "No stage recorded on this stack yet: exercise 02b records the baseline, and each "
                            "exercise that builds a stage ends by measuring it.", ha="center", va="center")
        return figure
    throughputs = [results[s]["throughput_rps"] for s in stages]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.bar_label(left.bar(range(len(stages)), throughputs, color="#3b7dd8"), fmt="%.0f", fontsize=8)
    left.set_ylabel("requests per second")
    left.set_title("Throughput")
    latencies = []
    for index, kind in enumerate(("p50", "p95", "p99")):
        offsets = [i + (index - 1) * 0.25 for i in range(len(stages))]
        latencies += [results[s]["latency_ms"][kind] for s in stages]
        right.bar(offsets, latencies[-len(stages):], width=0.25, label=kind)
    right.set_ylabel("milliseconds")
    right.set_title("Latency")
    right.legend()
    for axes, values in ((left, throughputs), (right, latencies)):
        axes.set_xticks(range(len(stages)), stages, rotation=30, ha="right")  # seven names side by side
        if min(values) > 0 and max(values) / min(values) > 20:
            axes.set_yscale("log")  # the final is tens of times the baseline: a linear scale hides the rest
            axes.set_ylabel(f"{axes.get_ylabel()} (log scale)")
    figure.tight_layout()
    return figure
