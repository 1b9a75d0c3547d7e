"""Chapter 02, the application server: Apache + mod_wsgi serves the app (daemon
mode, the project's virtualenv, debug off, packages from the wheelhouse), and
an initial load test of this stack was recorded (and web1's access log vouches for it)."""

from __future__ import annotations

from workshop.records import LoadTest

from .course_answers import ANSWER_FILES, runs_answer
from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "02-mod-wsgi"
WEB = "web1"
BASELINE = "02-baseline"
# A real load test: at least 5 s (the catch-up profile; the baseline runs 15 s) and
# 1000 requests per 15 s, which web1 alone sustains many times over.
MIN_DURATION_S, MIN_REQUESTS_PER_S = 5, 1000 / 15
MAX_ERROR_RATE = 0.01
WHEELHOUSE = "/srv/newsroom/wheelhouse"
RUN_BASELINE = f"workshop.loadtest.run(lab, \"{BASELINE}\", web1)"
APACHE_LOGS = "/var/log/apache2/newsroom-access.log*"
LOG_CLOCK_S = 1  # the access log's clock counts whole seconds
#: What 02b's reading answers may be off by: p95 as printed (rounded), the tail as counted (one request).
P95_TOLERANCE_MS, P95_TOLERANCE, TAIL_SHARE, TAIL_TOLERANCE = 0.05, 0.005, 0.05, 1
ANSWER = ANSWER_FILES[CHAPTER]

check(CHAPTER, "runs-your-vhost", ANSWER.title, points=1, answers=(ANSWER.variable,),
      stands_on=(ANSWER.machine,))(runs_answer(ANSWER))


@check(CHAPTER, "apache-serves-app", "Apache on web1 serves the app's /health/", points=1)
def apache_serves_app(target: Target, verdict: Verdict) -> None:
    response = target.http(WEB, "/health/")
    server = response.headers.get("Server", "")
    verdict.see(status=response.status_code, server=server, served_by=response.headers.get("X-Served-By"))
    target.health(WEB)  # raises with the specific hint: default page, no JSON, app error
    if "Apache" not in server:
        verdict.fail(f"web1:80 is answered by {server or 'an unnamed server'}, not Apache: stop it and "
                     "start apache2 (systemctl enable --now apache2)")
    if response.headers.get("X-Served-By") != WEB:
        verdict.fail("the answer did not come from the app on web1 (no X-Served-By: web1): check the vhost's "
                     "WSGIScriptAlias")


@check(CHAPTER, "daemon-mode-virtualenv", "mod_wsgi runs the app in daemon mode with the project's virtualenv",
       points=2)
def daemon_mode_virtualenv(target: Target, verdict: Verdict) -> None:
    daemons = sum(1 for process in target.host(WEB).process.filter() if str(process.args).startswith("(wsgi:"))
    verdict.see(daemon_processes=daemons)
    if daemons == 0:
        verdict.fail("mod_wsgi runs no daemon process: the app runs embedded in Apache's workers; add "
                     "`WSGIDaemonProcess newsroom ...` and `WSGIProcessGroup newsroom` to the vhost")
        return
    try:
        wsgi = target.health(WEB)["wsgi"]
    except ProbeError:
        log = target.ssh(WEB, "tail -n 50 /var/log/apache2/newsroom-error.log 2>/dev/null").stdout
        if "No module named 'django'" in log:
            raise ProbeError("mod_wsgi's Python cannot import Django: it is not using the project's virtualenv; "
                             "set python-home=/srv/newsroom/venv on WSGIDaemonProcess") from None
        raise
    verdict.see(server=wsgi.get("server"), mode=wsgi.get("mode"), process_group=wsgi.get("process_group"),
                python_prefix=wsgi.get("python_prefix"))
    if wsgi.get("server") != "mod_wsgi":
        verdict.fail(f"the app runs under {wsgi.get('server')}, not mod_wsgi: serve it with WSGIScriptAlias")
        return
    if wsgi.get("mode") != "daemon":
        verdict.fail("mod_wsgi runs the app embedded in Apache's workers: add `WSGIProcessGroup newsroom` "
                     "to the vhost so requests go to the daemon processes")
    if not wsgi.get("virtualenv"):
        verdict.fail(f"the app runs on the system Python ({wsgi.get('python_prefix')}): set "
                     "python-home=/srv/newsroom/venv on WSGIDaemonProcess")


@check(CHAPTER, "debug-off", "DEBUG is off: errors show no internals", points=1)
def debug_off(target: Target, verdict: Verdict) -> None:
    health = target.health(WEB)
    missing = target.http(WEB, "/workshop-probe-no-such-page/")
    leaks = "URLconf" in missing.text or "Traceback" in missing.text
    verdict.see(debug=health.get("debug"), not_found_status=missing.status_code, leaks_internals=leaks)
    if health.get("debug") or leaks:
        verdict.fail("DEBUG is on: it shows settings and code to every visitor; set DJANGO_DEBUG=0 in "
                     "/etc/newsroom/env and restart apache2")


@check(CHAPTER, "packages-from-wheelhouse", "the virtualenv's packages are the wheels pushed from the host",
       points=1)
def packages_from_wheelhouse(target: Target, verdict: Verdict) -> None:
    prefix = target.health(WEB)["wsgi"].get("python_prefix") or "/srv/newsroom/venv"
    host = target.host(WEB)
    try:
        packages = host.pip.get_packages(pip_path=f"{prefix}/bin/pip")
    except (AssertionError, ValueError):  # testinfra's run_expect and json.loads
        raise ProbeError(f"cannot list the packages of {prefix} on web1: is it a virtualenv with pip?") from None
    installed = {name.lower().replace("-", "_"): package["version"] for name, package in packages.items()}
    wheelhouse = host.file(WHEELHOUSE)
    wheel_listing = wheelhouse.listdir() if wheelhouse.is_directory else []
    wheels = {(name.split("-")[0].lower(), name.split("-")[1]) for name in wheel_listing if name.endswith(".whl")}
    apps = {name: version for name, version in installed.items() if name not in ("pip", "setuptools")}
    missing = sorted(f"{name}=={version}" for name, version in apps.items() if (name, version) not in wheels)
    verdict.see(installed=len(apps), wheels=len(wheels), not_from_wheelhouse=missing[:5])
    if not wheels:
        verdict.fail("there is no wheelhouse in /srv/newsroom/wheelhouse: build it on the host and push it "
                     "(workshop.deploy.app.push_wheelhouse)")
    elif "django" not in apps:
        verdict.fail(f"Django is not installed in {prefix}: pip install --no-index --find-links "
                     "/srv/newsroom/wheelhouse -r /srv/newsroom/wheelhouse/requirements.txt")
    elif missing:
        verdict.fail(f"{', '.join(missing[:5])} did not come from the wheelhouse: install with --no-index "
                     "--find-links /srv/newsroom/wheelhouse only")


@check(CHAPTER, "baseline-load-test", "an initial load test of this stack was recorded and met the bar", points=1)
def baseline_load_test(target: Target, verdict: Verdict) -> None:
    result = target.recorded(LoadTest, BASELINE, RUN_BASELINE)
    verdict.see(requests=result.requests, failed=result.failed, throughput_rps=round(result.throughput_rps),
                p95_ms=result.latency_ms.p95)
    witness_baseline(target, verdict, result)
    if result.profile.duration_s < MIN_DURATION_S or result.requests < MIN_REQUESTS_PER_S * result.profile.duration_s:
        verdict.fail(f"only {result.requests} requests were sent in {result.profile.duration_s} s: "
                     "use the 'baseline' profile (15 s)")


@check(CHAPTER, "baseline-read", "the baseline's p95 and its tail are read from the run (p95_ms, slower_than_p95)",
       points=1, answers=("p95_ms", "slower_than_p95"))
def baseline_read(target: Target, verdict: Verdict) -> None:
    """Graded beside baseline-load-test, which proves the record is the run web1 logged."""
    result = target.recorded(LoadTest, BASELINE, RUN_BASELINE)
    p95, tail = result.latency_ms.p95, result.requests * TAIL_SHARE
    p95_ms, slower = (target.answers.get(name) for name in ("p95_ms", "slower_than_p95"))
    verdict.see(p95_ms=p95_ms, recorded_p95_ms=p95, slower_than_p95=slower, requests=result.requests)
    if not is_number(p95_ms):
        verdict.fail("`p95_ms` is not a number: read the 95th percentile of the latencies your run returned "
                     "(its latency_ms), in milliseconds")
    elif abs(p95_ms - p95) > max(P95_TOLERANCE_MS, P95_TOLERANCE * p95):
        verdict.fail(f"p95_ms is {p95_ms}, but the recorded baseline's 95th percentile is {p95:g} ms: take p95 "
                     "from the run's latency_ms (milliseconds), not p50 or p99")
    if not is_number(slower):
        verdict.fail("`slower_than_p95` is not a number: how many of the run's requests waited longer than its p95?")
    elif abs(slower - tail) > TAIL_TOLERANCE:
        verdict.fail(f"slower_than_p95 is {slower}: p95 is the latency 95% of the run's {result.requests} requests "
                     "stayed under, so how many waited longer? (a percentile counts requests, not time)")


def is_number(value) -> bool:
    """Whether a notebook answer is a number (True and False are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def witness_baseline(target: Target, verdict: Verdict, result: LoadTest) -> None:
    """Fail `verdict` unless web1's access log vouches for the recorded baseline: its run's
    requests are there, at least as many as recorded (wrk counts a request once Apache has
    answered it, and Apache logs every answer, so a genuine record never claims more), over
    no longer than recorded, and (with the record's own) at most 1% of them failed."""
    load_test_adds_up(result)
    seen = target.logged_run(WEB, result, APACHE_LOGS)
    error_rate = max(result.error_rate, seen.failed() / seen.requests)
    verdict.see(logged_on_web1=seen.requests, failed_on_web1=seen.failed(), logged_span_s=seen.span_s)
    if result.requests > seen.requests:
        verdict.fail(f"the record claims {result.requests} requests, but web1's access log shows {seen.requests} of "
                     f"its run ({result.run_id}): the record was edited; run the load test again")
    if seen.span_s > result.duration_s + LOG_CLOCK_S:
        verdict.fail(f"web1's access log shows the run's requests over {seen.span_s:.0f} s, but the record says "
                     f"it lasted {result.duration_s:.1f} s: the record was edited; run the load test again")
    if error_rate > MAX_ERROR_RATE:
        verdict.fail(f"{error_rate:.1%} of the requests failed: fix the errors in "
                     "/var/log/apache2/newsroom-error.log, then run the load test again")


def load_test_adds_up(result: LoadTest) -> None:
    """A ProbeError unless the record's throughput is its requests over its duration, and it ran
    at least its profile's duration (wrk does): an edited throughput or duration shows."""
    expected = result.requests / result.duration_s if result.duration_s > 0 else 0.0
    if result.duration_s < result.profile.duration_s or abs(result.throughput_rps - expected) > 1e-6 * max(expected, 1):
        raise ProbeError(f"the recorded {result.title(result.key)} does not add up ({result.throughput_rps:.1f} "
                         f"req/s from {result.requests} requests in {result.duration_s} s, profile "
                         f"{result.profile.duration_s} s): the record was edited; run it again")
