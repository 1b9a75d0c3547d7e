"""Chapter 10, the final load test: the baseline's profile, run against varnish1 on
this stack, recorded (varnish1's request counter vouches for it), and compared with
the baseline of chapter 02."""

from __future__ import annotations

import time

from workshop.loadtest import BASELINE_STAGE
from workshop.records import LoadTest

from .mod_wsgi import load_test_adds_up, witness_baseline
from .registry import check
from .result import Verdict
from .target import Target

CHAPTER = "10-final-load-test"
FINAL_STAGE, VARNISH = "10-final", "varnish1"
MAX_ERROR_RATE = 0.01
COUNTER_BATCHING = 0.01
# MAIN.uptime counts whole seconds and varnishd refreshes it about once a second: a run that
# began right after varnish1 started (catch-up deploys it just before) can read up to 2 s "older".
UPTIME_RESOLUTION_S = 2


def recorded(target: Target, stage: str) -> LoadTest:
    """The stage's record, if its numbers add up (see mod_wsgi.load_test_adds_up). The final must
    be the student's own run; the baseline it is compared with may be catch-up's (chapter 02's
    points are chapter 02's business)."""
    result = target.recorded(LoadTest, stage,
                             f"workshop.loadtest.run(lab, \"{stage}\", ...); chapter 02 records the baseline",
                             own=stage == FINAL_STAGE)
    load_test_adds_up(result)
    return result


def varnish_counter(target: Target, name: str) -> int:
    output = target.ssh(VARNISH, f"varnishstat -1 -f {name}").stdout.split()
    return int(output[1]) if len(output) > 1 and output[1].isdigit() else 0


@check(CHAPTER, "final-load-test", "the final load test ran against varnish1 with the baseline's profile", points=1)
def final_load_test(target: Target, verdict: Verdict) -> None:
    final, baseline = recorded(target, FINAL_STAGE), recorded(target, BASELINE_STAGE)
    expected_url = target.record(VARNISH).url(final.profile.path)
    verdict.see(requests=final.requests, failed=final.failed, throughput_rps=round(final.throughput_rps),
                url=final.url, varnish1_url=expected_url)
    if final.url != expected_url:
        verdict.fail(f"the final load test hit {final.url}, not varnish1 ({expected_url}): the final stage "
                     "measures the whole stack from its front door")
    if not final.profile.same_load(baseline.profile):
        verdict.fail(f"the final profile ({final.profile.name}) differs from the baseline's "
                     f"({baseline.profile.name}): use the same profile, or the two are not comparable")
    if final.error_rate > MAX_ERROR_RATE:
        verdict.fail(f"{final.error_rate:.1%} of the final requests failed: look at varnishlog and lb1's "
                     "error log, fix, and run the load test again")
    witness_final(target, verdict, final)


def witness_final(target: Target, verdict: Verdict, final: LoadTest) -> None:
    """Fail `verdict` unless varnish1's counters vouch for the final load test. Varnish answers
    it from its cache, so lb1 never sees most of its requests, and varnish1 keeps no log that
    outlives its shared memory: the count of requests varnish1 received since it started is
    the one server-side record, and must cover the recorded requests (less 1%: each worker
    thread adds its requests to the totals in batches). A varnish1 restarted since the run
    cannot vouch for it."""
    uptime = varnish_counter(target, "MAIN.uptime")
    since_run = time.time() - final.started_at
    served = varnish_counter(target, "MAIN.client_req")
    verdict.see(varnish_uptime_s=uptime, varnish_client_requests=served)
    if uptime + UPTIME_RESOLUTION_S < since_run:
        verdict.fail(f"varnish1 restarted {uptime} s ago, after the final load test started ({since_run:.0f} s ago): "
                     "its counters no longer cover that run, so nothing vouches for the record; run the final load "
                     "test again")
    elif served < (1 - COUNTER_BATCHING) * final.requests:
        verdict.fail(f"varnish1 counted {served} requests since it started, fewer than the {final.requests} "
                     "the final load test recorded: the record was edited or made elsewhere; run it again against "
                     "varnish1")


def witnessed_ends(target: Target, verdict: Verdict) -> tuple[LoadTest, LoadTest]:
    """The final and the baseline, each vouched for by its servers: a reading of the stages is
    only as good as the two records it starts and ends with."""
    final, baseline = recorded(target, FINAL_STAGE), recorded(target, BASELINE_STAGE)
    witness_baseline(target, verdict, baseline)
    witness_final(target, verdict, final)
    return final, baseline


@check(CHAPTER, "throughput-ratio", "throughput_ratio is the final throughput over the baseline's", points=1,
       answers=("throughput_ratio",))
def throughput_ratio_answer(target: Target, verdict: Verdict) -> None:
    final, baseline = witnessed_ends(target, verdict)
    expected = final.throughput_rps / baseline.throughput_rps
    answer = target.answers.get("throughput_ratio")
    verdict.see(expected=round(expected, 2), answer=answer)
    try:
        close = abs(float(answer) - expected) <= 0.01 * expected
    except (TypeError, ValueError):
        close = False
    if not close:
        verdict.fail(f"throughput_ratio is {answer!r}; the recorded stages give {expected:.2f}: divide the final "
                     "stage's throughput_rps by the baseline's (results[\"10-final\"], results[\"02-baseline\"])")


@check(CHAPTER, "biggest-step", "biggest_step names the stage that added the most throughput", points=1,
       answers=("biggest_step",))
def biggest_step_answer(target: Target, verdict: Verdict) -> None:
    """Read from the stack's own stage records, in course order (their names start with the chapter)."""
    witnessed_ends(target, verdict)
    stages = target.recorded_all(LoadTest)
    ordered = sorted(stages)
    steps = {later: stages[later].throughput_rps - stages[earlier].throughput_rps
             for earlier, later in zip(ordered, ordered[1:])}
    answer = target.answers.get("biggest_step")
    verdict.see(stages=ordered, steps_rps={key: round(gain) for key, gain in steps.items()}, answer=answer)
    if answer != max(steps, key=steps.get):
        verdict.fail(f"biggest_step is {answer!r}: of your stages ({', '.join(ordered)}), which one gained the most "
                     "requests per second over the stage measured just before it? Read the comparison table")
