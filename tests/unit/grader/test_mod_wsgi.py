"""Chapter 02's checks on a scripted stack: each passes on a healthy web1 and names the fix when broken."""

import pytest

from grader.result import FAILED, PASSED
from grader.target import ProbeError

from tests.unit.record_samples import load_test

from .kit import access_log, assert_hint, check_ids, health, own_answer, respond, run

CHAPTER = "02-mod-wsgi"
PIP = "/srv/newsroom/venv/bin/pip"
WHEELHOUSE = "/srv/newsroom/wheelhouse"
BASELINE = load_test("units", requests=3000, throughput_rps=200.0).to_dict()
AGENT = f"workshop-loadtest/02-baseline run/{BASELINE['run_id']}"
#: 02b's reading of that run: its p95, and 5% of its 3000 requests.
READ = {"p95_ms": BASELINE["latency_ms"]["p95"], "slower_than_p95": 150}


def logged(target, requests=3000, seconds=15, statuses=None, agent=AGENT):
    """web1's access log shows `requests` of the baseline's run (with `statuses`), over `seconds`."""
    target.on_ssh("web1", "newsroom-access.log*", access_log(agent, statuses or [200] * requests, seconds))


@pytest.fixture
def healthy(target):
    target.on_http("web1", "/health/", health())
    target.on_http("web1", "/workshop-probe-no-such-page/", respond(404, text="<h1>Not Found</h1>"))
    web1 = target.facts("web1")
    web1.processes = ["/usr/sbin/apache2 -k start", "(wsgi:newsroom)", "(wsgi:newsroom)"]
    web1.pip[PIP] = {"Django": "5.2.1", "psycopg": "3.2.9", "pip": "23.0.1", "setuptools": "66.1.1"}
    web1.directories[WHEELHOUSE] = ["Django-5.2.1-py3-none-any.whl", "psycopg-3.2.9-py3-none-any.whl",
                                    "requirements.txt"]
    target.recordings["loadtest-02-baseline.json"] = dict(BASELINE)
    logged(target, 3003)  # Apache also logs what was in flight when wrk stopped counting
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_on_a_healthy_web1(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, **own_answer(healthy, CHAPTER), **READ)
    assert (result.status, result.hints) == (PASSED, [])


def with_wsgi(**wsgi):
    return health(wsgi={**health().json()["wsgi"], **wsgi})


def test_catch_ups_short_baseline_passes(healthy):
    """Catch-up records its baseline with the 5 s "catch-up" profile: as real a load test, shorter."""
    healthy.recordings["loadtest-02-baseline.json"].update(
        profile={**BASELINE["profile"], "name": "catch-up", "duration_s": 5}, requests=1200, duration_s=5.0,
        throughput_rps=240.0)
    logged(healthy, 1200, seconds=5)
    assert run(healthy, CHAPTER, "baseline-load-test").status == PASSED


def test_the_baseline_is_looked_up_in_rotated_logs_too(healthy):
    """logrotate renames and gzips old access logs: the check reads every one, compressed or not."""
    commands = []
    healthy.on_ssh("web1", "newsroom-access.log*",
                   lambda command: commands.append(command) or access_log(AGENT, [200] * 3003))
    result = run(healthy, CHAPTER, "baseline-load-test")
    assert result.status == PASSED and result.evidence["logged_on_web1"] == 3003
    assert commands[0].startswith("zcat -f /var/log/apache2/newsroom-access.log* ")


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("apache-serves-app", lambda t: (t.on_http("web1", "/health/", respond(404, text="Not Found")),
                                     t.on_http("web1", "/", respond(text="<title>Apache2 Debian Default Page</title>"))),
     "web1 serves Apache's default site, not the app: a2dissite 000-default"),
    ("apache-serves-app", lambda t: (t.on_http("web1", "/health/", respond(502, text="Bad Gateway")),
                                     t.on_http("web1", "/", respond(502, text="Bad Gateway"))),
     "web1:/health/ answered HTTP 502 without JSON"),
    ("apache-serves-app", lambda t: t.on_http("web1", "/health/", respond(503, json={"database": {"error": "refused"}})),
     "web1:/health/ answered HTTP 503: refused"),
    ("apache-serves-app", lambda t: t.on_http("web1", "/health/", respond(json=health().json(), headers={
        "Server": "gunicorn", "X-Served-By": "web1"})),
     "web1:80 is answered by gunicorn, not Apache"),
    ("apache-serves-app", lambda t: t.on_http("web1", "/health/", respond(json=health().json(), headers={
        "Server": "Apache"})),
     "no X-Served-By: web1"),
    ("apache-serves-app", lambda t: t.on_http("web1", "/health/", ProbeError("nothing answers HTTP on web1:80")),
     "nothing answers HTTP on web1:80"),
    ("daemon-mode-virtualenv", lambda t: setattr(t.facts("web1"), "processes", ["/usr/sbin/apache2 -k start"]),
     "mod_wsgi runs no daemon process"),
    ("daemon-mode-virtualenv", lambda t: (t.on_http("web1", "/health/", respond(500, text="Internal Server Error")),
                                          t.on_http("web1", "/", respond(500, text="Internal Server Error")),
                                          t.on_ssh("web1", "newsroom-error.log",
                                                   "ModuleNotFoundError: No module named 'django'\n")),
     "mod_wsgi's Python cannot import Django"),
    ("daemon-mode-virtualenv", lambda t: t.on_http("web1", "/health/", with_wsgi(server="gunicorn/22", mode=None)),
     "the app runs under gunicorn/22, not mod_wsgi"),
    ("daemon-mode-virtualenv", lambda t: t.on_http("web1", "/health/", with_wsgi(mode="embedded")),
     "mod_wsgi runs the app embedded in Apache's workers"),
    ("daemon-mode-virtualenv", lambda t: t.on_http("web1", "/health/", with_wsgi(virtualenv=False,
                                                                                  python_prefix="/usr")),
     "the app runs on the system Python (/usr)"),
    ("debug-off", lambda t: t.on_http("web1", "/health/", health(debug=True)), "DEBUG is on"),
    ("debug-off", lambda t: t.on_http("web1", "/workshop-probe-no-such-page/", respond(404, text="Using the URLconf")),
     "DEBUG is on"),
    ("packages-from-wheelhouse", lambda t: t.facts("web1").pip.clear(),
     "cannot list the packages of /srv/newsroom/venv on web1"),
    ("packages-from-wheelhouse", lambda t: t.facts("web1").directories.clear(),
     "there is no wheelhouse in /srv/newsroom/wheelhouse"),
    ("packages-from-wheelhouse", lambda t: t.facts("web1").pip[PIP].pop("Django"),
     "Django is not installed in /srv/newsroom/venv"),
    ("packages-from-wheelhouse", lambda t: t.facts("web1").pip[PIP].update(requests="2.32.3"),
     "requests==2.32.3 did not come from the wheelhouse"),
    ("baseline-load-test", lambda t: t.recordings.clear(), "no load test recorded for stage 02-baseline"),
    ("baseline-load-test", lambda t: t.recordings["loadtest-02-baseline.json"].update(stack="someone-else"),
     "the recorded load test for stage 02-baseline ran against stack someone-else, not units"),
    ("baseline-load-test", lambda t: t.recordings["loadtest-02-baseline.json"].update(
        requests=500, throughput_rps=500 / 15), "only 500 requests were sent in 15 s"),
    ("baseline-load-test", lambda t: t.recordings["loadtest-02-baseline.json"].update(profile={**BASELINE["profile"], "duration_s": 2}),
     "only 3000 requests were sent in 2 s: use the 'baseline' profile (15 s)"),
    ("baseline-load-test", lambda t: t.recordings["loadtest-02-baseline.json"].update(error_rate=0.05),
     "5.0% of the requests failed"),
    ("baseline-load-test", lambda t: logged(t, 3000, statuses=[200] * 2850 + [500] * 150),
     "5.0% of the requests failed"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def forged(**fields):
    return lambda t: t.recordings["loadtest-02-baseline.json"].update(fields)


@pytest.mark.parametrize("forge, hint", [
    (forged(requests=30_000, throughput_rps=2000.0),
     f"the record claims 30000 requests, but web1's access log shows 3003 of its run ({BASELINE['run_id']})"),
    (forged(throughput_rps=2000.0), "does not add up (2000.0 req/s from 3000 requests in 15.0 s"),
    (forged(duration_s=5.0, throughput_rps=600.0, profile={**BASELINE["profile"], "name": "catch-up", "duration_s": 5}),
     "web1's access log shows the run's requests over 15 s, but the record says it lasted 5.0 s"),
    (forged(run_id="0" * 32), "web1's access log shows no request of the recorded load test for stage 02-baseline "
                              f"(run {'0' * 32})"),
    (forged(run_id=None), "has no run id and start time"),
    (forged(started_at=None), "started_at is None, not float: run it again"),
    (forged(run_id="x' ; reboot ; '"), "has run id \"x' ; reboot ; '\", which no run makes"),
    # a classmate's genuine record, its stack renamed: this web1 never saw that run
    (lambda t: t.recordings.update({"loadtest-02-baseline.json": load_test(
        "units", requests=3000, throughput_rps=200.0).to_dict()}), "web1's access log shows no request"),
])
def test_a_forged_baseline_fails_with_what_the_server_saw(healthy, forge, hint):
    forge(healthy)
    assert_hint(run(healthy, CHAPTER, "baseline-load-test"), hint)


def test_catch_ups_baseline_earns_no_marks_nor_passes_for_the_students_once_edited(healthy):
    """Catch-up's run lets chapter 03 start; web1's log shows whose run it was, so flipping the
    record's flag to pass it off as the student's own leaves a record no logged run matches."""
    healthy.recordings["loadtest-02-baseline.json"].update(by_catch_up=True)
    logged(healthy, 3003, agent=f"{AGENT} by/catch-up")
    assert_hint(run(healthy, CHAPTER, "baseline-load-test"),
                "the recorded load test for stage 02-baseline was run by `workshop catch-up`, which is for moving on, "
                "not for marks: run it yourself")
    healthy.recordings["loadtest-02-baseline.json"].update(by_catch_up=False)
    assert_hint(run(healthy, CHAPTER, "baseline-load-test"),
                "web1's access log shows no request of the recorded load test for stage 02-baseline")


@pytest.mark.parametrize("slower", [149, 151])
def test_the_tail_may_be_counted_one_request_either_way(healthy, slower):
    assert run(healthy, CHAPTER, "baseline-read", **{**READ, "slower_than_p95": slower}).status == PASSED


def test_a_p95_read_from_another_percentile_is_caught(healthy):
    p50 = BASELINE["latency_ms"]["p50"]
    assert_hint(run(healthy, CHAPTER, "baseline-read", **{**READ, "p95_ms": p50}),
                f"p95_ms is {p50}, but the recorded baseline's 95th percentile is {READ['p95_ms']:g} ms")


def test_a_tail_counted_as_the_95_percent_is_caught(healthy):
    assert_hint(run(healthy, CHAPTER, "baseline-read", **{**READ, "slower_than_p95": 2850}),
                "slower_than_p95 is 2850: p95 is the latency 95% of the run's 3000 requests stayed under")


@pytest.mark.parametrize("name", ["p95_ms", "slower_than_p95"])
@pytest.mark.parametrize("value", [None, "120 ms", True])
def test_a_reading_that_is_no_number_is_named(healthy, name, value):
    assert_hint(run(healthy, CHAPTER, "baseline-read", **{**READ, name: value}), f"`{name}` is not a number")


def test_no_baseline_recorded_leaves_nothing_to_read(healthy):
    del healthy.recordings["loadtest-02-baseline.json"]
    assert run(healthy, CHAPTER, "baseline-read", **READ).status == FAILED
