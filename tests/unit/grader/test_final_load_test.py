"""Chapter 10's checks on a scripted stack: each passes with a final load test of varnish1 recorded, and names
the fix when broken."""

import time

import pytest

from grader.result import PASSED

from tests.unit.record_samples import load_test

from .kit import access_log, assert_hint, check_ids, run

CHAPTER = "10-final-load-test"
BASELINE = load_test("units", requests=3000, throughput_rps=200.0).to_dict()
PROFILE = BASELINE["profile"]


@pytest.fixture
def healthy(target):
    final = load_test("units", "10-final", requests=90_000, throughput_rps=6000.0, target="varnish1",
                      url=target.record("varnish1").url("/"), started_at=time.time() - 60).to_dict()
    target.recordings.update({"loadtest-02-baseline.json": dict(BASELINE), "loadtest-10-final.json": final})
    target.on_ssh("varnish1", "varnishstat -1 -f MAIN.uptime", "MAIN.uptime 3600 1.00 Child process uptime\n")
    target.on_ssh("varnish1", "varnishstat -1 -f MAIN.client_req", "MAIN.client_req 95000 26.39 Good requests\n")
    target.on_ssh("web1", "newsroom-access.log*",
                  access_log(f"workshop-loadtest/02-baseline run/{BASELINE['run_id']}", [200] * 3000))
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_the_final_load_test_recorded(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, throughput_ratio=30.1, biggest_step="10-final")
    assert (result.status, result.hints) == (PASSED, [])


def test_a_final_load_test_with_the_same_load_for_another_duration_passes(healthy):
    """Catch-up's 5 s runs push like the baseline's 15 s: their throughputs compare."""
    final(profile={**PROFILE, "name": "catch-up", "duration_s": 5})(healthy)
    assert run(healthy, CHAPTER, "final-load-test").status == PASSED


def test_a_final_run_right_after_varnish_started_passes(healthy):
    """Catch-up deploys varnish1 just before its final run: uptime (whole seconds) reads about the run's age."""
    final(started_at=time.time() - 29.6)(healthy)
    healthy.on_ssh("varnish1", "MAIN.uptime", "MAIN.uptime 28 1.00 Child process uptime\n")
    assert run(healthy, CHAPTER, "final-load-test").status == PASSED


def final(**fields):
    return lambda t: t.recordings["loadtest-10-final.json"].update(fields)


@pytest.mark.parametrize("break_it, hint", [
    (lambda t: t.recordings.pop("loadtest-10-final.json"), "no load test recorded for stage 10-final"),
    (lambda t: t.recordings.pop("loadtest-02-baseline.json"), "no load test recorded for stage 02-baseline"),
    (final(stack="other"), "the recorded load test for stage 10-final ran against stack other, not units"),
    (final(url="http://127.0.0.1:8000/"), "the final load test hit http://127.0.0.1:8000/, not varnish1"),
    (final(profile={**PROFILE, "name": "smoke", "connections": 4}),
     "the final profile (smoke) differs from the baseline's (baseline)"),
    (final(error_rate=0.2), "20.0% of the final requests failed"),
    (lambda t: t.on_ssh("varnish1", "MAIN.client_req", "MAIN.client_req 500 0.14 Good requests\n"),
     "varnish1 counted 500 requests since it started, fewer than the 90000"),
])
def test_each_final_load_test_hint_names_the_fix(healthy, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, "final-load-test"), hint)


@pytest.mark.parametrize("answer", [3.0, "thirty", None])
def test_a_wrong_throughput_ratio_names_the_recorded_one(healthy, answer):
    assert_hint(run(healthy, CHAPTER, "throughput-ratio", throughput_ratio=answer),
                f"throughput_ratio is {answer!r}; the recorded stages give 30.00")


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
@pytest.mark.parametrize("forge, hint", [
    (final(throughput_rps=60_000.0), "the recorded load test for stage 10-final does not add up (60000.0 req/s from "
                                     "90000 requests in 15.0 s"),
    (final(duration_s=1.5, throughput_rps=60_000.0), "does not add up (60000.0 req/s from 90000 requests in 1.5 s, "
                                                     "profile 15 s)"),
    (final(requests=900_000, throughput_rps=60_000.0),
     "varnish1 counted 95000 requests since it started, fewer than the 900000"),
    (final(run_id=None), "the recorded load test for stage 10-final has no run id and start time"),
    (lambda t: t.on_ssh("varnish1", "MAIN.uptime", "MAIN.uptime 30 1.00 Child process uptime\n"),
     "varnish1 restarted 30 s ago, after the final load test started (60 s ago)"),
])
def test_a_forged_final_fails_with_what_varnish_counted(healthy, check_id, forge, hint):
    forge(healthy)
    assert_hint(run(healthy, CHAPTER, check_id, throughput_ratio=30.1, biggest_step="10-final"), hint)


def test_a_ratio_over_a_baseline_web1_never_saw_fails(healthy):
    """The ratio is only as true as both records: a made-up baseline (here, its run id) is not believed."""
    healthy.recordings["loadtest-02-baseline.json"].update(run_id="c" * 32)
    assert_hint(run(healthy, CHAPTER, "throughput-ratio", throughput_ratio=30.1),
                "web1's access log shows no request of the recorded load test for stage 02-baseline")


def test_catch_ups_final_earns_no_marks_but_catch_ups_baseline_is_fine_to_compare_with(healthy):
    healthy.recordings["loadtest-10-final.json"].update(by_catch_up=True)
    for check_id in check_ids(CHAPTER):
        assert_hint(run(healthy, CHAPTER, check_id, throughput_ratio=30.1, biggest_step="10-final"),
                    "the recorded load test for stage 10-final was run by `workshop catch-up`, which is for moving on")
    healthy.recordings["loadtest-10-final.json"].update(by_catch_up=False)
    healthy.recordings["loadtest-02-baseline.json"].update(by_catch_up=True)
    healthy.on_ssh("web1", "newsroom-access.log*",
                   access_log(f"workshop-loadtest/02-baseline run/{BASELINE['run_id']} by/catch-up", [200] * 3000))
    for check_id in check_ids(CHAPTER):
        assert run(healthy, CHAPTER, check_id, throughput_ratio=30.1, biggest_step="10-final").status == PASSED


def stages(target, **throughputs):
    """Stage records of this stack besides the baseline and the final: stage name -> req/s."""
    for stage, rps in throughputs.items():
        name = stage.replace("_", "-").lstrip("s")
        target.recordings[f"loadtest-{name}.json"] = load_test("units", name, throughput_rps=rps).to_dict()


def test_the_biggest_step_is_read_stage_by_stage(healthy):
    """Baseline 200, PostgreSQL 180, two web servers 260, memcached 900, pgpool 850, Varnish 5900, final 6000."""
    stages(healthy, s03_postgresql=180.0, s05_load_balancing=260.0, s06_caching=900.0, s07_pgpool=850.0,
           s09_varnish=5900.0)
    assert run(healthy, CHAPTER, "biggest-step", biggest_step="09-varnish").status == PASSED
    assert_hint(run(healthy, CHAPTER, "biggest-step", biggest_step="10-final"),
                "biggest_step is '10-final': of your stages (02-baseline, 03-postgresql, 05-load-balancing, "
                "06-caching, 07-pgpool, 09-varnish, 10-final), which one gained the most")


def test_another_stacks_stage_records_are_not_read(healthy):
    stages(healthy, s09_varnish=5900.0)
    healthy.recordings["loadtest-09-varnish.json"]["stack"] = "other"
    assert run(healthy, CHAPTER, "biggest-step", biggest_step="10-final").status == PASSED


def test_without_the_baseline_there_is_nothing_to_read(healthy):
    healthy.recordings.pop("loadtest-02-baseline.json")
    assert_hint(run(healthy, CHAPTER, "biggest-step", biggest_step="10-final"),
                "no load test recorded for stage 02-baseline")
