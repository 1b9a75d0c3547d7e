"""Chapter 05, several web servers behind nginx: lb1 balances web1 and web2, serves
static files itself, media is shared between the web servers, and a crashed web
server costs (almost) no failed requests (as lb1's access log shows the drill)."""

from __future__ import annotations

import re
import uuid
from collections import Counter

from workshop.records import CrashDrill

from .course_answers import ANSWER_FILES, runs_answer
from .mod_wsgi import is_number
from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "05-load-balancing"
LB, WEBS = "lb1", ("web1", "web2")
PROBES = 12
MIN_CRASH_REQUESTS, MAX_CRASH_FAILURES = 200, 2
NGINX_LOGS = "/var/log/nginx/access.log*"
#: When nginx passes a request on to the next web server: nginx's default, and what exercise 05a asks for.
DEFAULT_RETRY, RETRY_ON = ("error", "timeout"), ("error", "timeout", "http_502", "http_503")
#: The timeouts that can make a request wait while a web server dies, with nginx's defaults (s).
TIMEOUTS = {"proxy_connect_timeout": 60.0, "proxy_read_timeout": 60.0, "proxy_send_timeout": 60.0}
#: A request that waited out a timeout took it and a little more (the retry on the other server).
RETRY_MARGIN_S, READ_TOLERANCE = 1.0, 0.01
CRASH_DRILL = "workshop.failure.crash_web_server(lab, \"web1\", through=\"lb1\")"
ANSWER = ANSWER_FILES[CHAPTER]


def served_by(target: Target, path: str = "/health/", count: int = PROBES) -> Counter:
    """Which web server answered each of `count` requests through the load balancer."""
    return Counter(target.http(LB, path).headers.get("X-Served-By", "-") for _ in range(count))


check(CHAPTER, "runs-your-lb-config", ANSWER.title, points=1, answers=(ANSWER.variable,),
      stands_on=(ANSWER.machine,))(runs_answer(ANSWER))


@check(CHAPTER, "lb-balances-both", "nginx on lb1 sends requests to web1 and web2", points=1)
def lb_balances_both(target: Target, verdict: Verdict) -> None:
    seen = served_by(target)
    server = target.http(LB, "/health/").headers.get("Server", "")
    verdict.see(served_by=dict(seen), lb_server=server)
    if "nginx" not in server:
        verdict.fail(f"lb1:80 is answered by {server or 'an unnamed server'}, not nginx: systemctl enable --now nginx")
    missing = [web for web in WEBS if web not in seen]
    if missing:
        verdict.fail(f"through lb1 no response came from {', '.join(missing)}: list every web server's private "
                     "address in nginx's upstream block (server ADDRESS:80;) and reload nginx")


@check(CHAPTER, "static-from-nginx", "lb1 serves static files itself, not through the web servers", points=1)
def static_from_nginx(target: Target, verdict: Verdict) -> None:
    probe = uuid.uuid4().hex
    response = target.http(LB, f"/static/articles/site.css?probe={probe}")
    relayed = [web for web in WEBS if target.count_in_logs(web, probe, "/var/log/apache2/*access.log")]
    verdict.see(status=response.status_code, server=response.headers.get("Server"), relayed_by=relayed)
    if response.status_code != 200:
        verdict.fail(f"lb1 answers /static/articles/site.css with HTTP {response.status_code}: add `location "
                     "/static/ { alias /srv/newsroom/static/; }` and copy collectstatic's output to lb1")
    elif relayed:
        verdict.fail(f"static files still go through {', '.join(relayed)}: let nginx serve /static/ from its own "
                     "disk (location /static/ { alias /srv/newsroom/static/; })")


@check(CHAPTER, "shared-media", "a file uploaded through web1 is served through web2 and lb1", points=2)
def shared_media(target: Target, verdict: Verdict) -> None:
    content = f"workshop media probe {uuid.uuid4().hex}".encode()
    upload = target.http("web1", "/api/uploads/", method="POST",
                         files={"file": (f"probe-{uuid.uuid4().hex[:8]}.txt", content)})
    if upload.status_code != 201:
        raise ProbeError(f"uploading through web1 failed (HTTP {upload.status_code}: {upload.text[:200]}): "
                         "check the storage settings in /etc/newsroom/env")
    name = upload.json()["name"]
    other = target.http("web2", f"/api/uploads/{name}")
    public = target.http(LB, f"/media/{name}")
    storages = {web: target.health(web)["storage"]["backend"].rsplit(".", 1)[-1] for web in WEBS}
    verdict.see(uploaded=name, web2_status=other.status_code, lb_media_status=public.status_code, storage=storages)
    if other.status_code != 200 or other.content != content:
        verdict.fail("web2 cannot read a file uploaded through web1: media is on web1's own disk. Store it on "
                     "shared storage: STORAGE_BACKEND=s3 with the media1 bucket on every web server")
    if public.status_code != 200 or public.content != content:
        verdict.fail(f"lb1 answers /media/{name} with HTTP {public.status_code}: proxy /media/ to the bucket "
                     "(location /media/ { proxy_pass http://MEDIA1:8333/newsroom-media/; })")


@check(CHAPTER, "failover-settings", "nginx retries on the next server and gives up on a dead one fast", points=1)
def failover_settings(target: Target, verdict: Verdict) -> None:
    config = target.ssh(LB, "nginx -T 2>/dev/null").stdout
    directives = [line.strip().rstrip(";") for line in config.splitlines() if line.strip().startswith("proxy_")]
    next_upstream = [d for d in directives if d.startswith("proxy_next_upstream ")]
    tries = [d.split()[1] for d in directives if d.startswith("proxy_next_upstream_tries ")]
    connect = [d.split()[1] for d in directives if d.startswith("proxy_connect_timeout")]
    retried_on = {word for d in next_upstream for word in d.split()[1:]} if next_upstream else set(DEFAULT_RETRY)
    verdict.see(proxy_next_upstream=next_upstream or "default (error timeout)", proxy_next_upstream_tries=tries or "0",
                proxy_connect_timeout=connect or "60s")
    if "off" in retried_on:
        verdict.fail("proxy_next_upstream is off: a request that hits a dead server fails instead of being retried; "
                     f"use `proxy_next_upstream {' '.join(RETRY_ON)};`")
    elif missing := [condition for condition in RETRY_ON if condition not in retried_on]:
        verdict.fail(f"proxy_next_upstream does not retry on {', '.join(missing)}: a request that meets a web server "
                     "that is down, or up but unable to serve (Apache answers 503 when it cannot reach the app's "
                     f"mod_wsgi daemon), fails instead of going to the other one; use `proxy_next_upstream "
                     f"{' '.join(RETRY_ON)};`")
    if "1" in tries:
        verdict.fail("proxy_next_upstream_tries 1 allows the first try only, so nothing is ever retried: "
                     "use `proxy_next_upstream_tries 2;` (the first server and one more)")
    if not connect or not _seconds(connect[0]) <= 5:
        verdict.fail("proxy_connect_timeout is the default 60 s: every request to a dead server hangs that long; "
                     "set `proxy_connect_timeout 1s;`")


def _seconds(value: str) -> float:
    """An nginx time ("1s", "500ms", "2m", "60"), in seconds."""
    number, unit = re.fullmatch(r"([\d.]+)(ms|s|m|h)?", value).groups()
    return float(number) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[unit]


@check(CHAPTER, "crash-survived", "web1 was crashed with (almost) no failed requests, then came back", points=1)
def crash_survived(target: Target, verdict: Verdict) -> None:
    result = target.recorded(CrashDrill, "web1", CRASH_DRILL)
    seen = target.logged_run(LB, result, NGINX_LOGS)
    # lb1 logs every request the drill sent it (a client that gave up as 499), so a genuine record
    # never claims more requests, nor fewer failures, than lb1's log shows.
    failed = max(result.failed, seen.failed(ok=(200,)))
    now = served_by(target)
    verdict.see(requests=result.requests, failed=result.failed, logged_on_lb1=seen.requests,
                failed_on_lb1=seen.failed(ok=(200,)), recovery_s=result.recovery_s,
                served_by_after_kill=result.served_by_after_kill, served_by_now=dict(now))
    if result.requests > seen.requests:
        verdict.fail(f"the record claims {result.requests} requests, but lb1's access log shows {seen.requests} of "
                     f"its run ({result.run_id}): the record was edited; run the drill again")
    if seen.failed(ok=(200,)) > result.failed:
        verdict.fail(f"the record claims {result.failed} failed requests, but lb1 answered {seen.failed(ok=(200,))} "
                     "of the drill's requests with an error: the record was edited; run the drill again")
    if min(result.requests, seen.requests) < MIN_CRASH_REQUESTS:
        verdict.fail(f"the drill sent only {min(result.requests, seen.requests)} requests: keep the default of 300")
    if failed > MAX_CRASH_FAILURES:
        verdict.fail(f"{failed} requests failed while web1 was down: nginx must retry them on web2 "
                     f"(proxy_next_upstream {' '.join(RETRY_ON)}; proxy_connect_timeout 1s;), then run the drill again")
    if result.recovery_s is None or "web1" not in now:
        verdict.fail("web1 is not back in rotation: start it (lab.up(\"web1\")) and make sure apache2 is enabled")


@check(CHAPTER, "crash-explained", "the crash was predicted, and its slowest request explained by lb1's settings",
       points=1, answers=("predicted_failed", "slowest_s", "bounded_by"))
def crash_explained(target: Target, verdict: Verdict) -> None:
    """Graded beside crash-survived, which proves the drill's record is the run lb1 logged."""
    result = target.recorded(CrashDrill, "web1", CRASH_DRILL)
    predicted, slowest, bounded_by = (target.answers.get(name) for name in ("predicted_failed", "slowest_s",
                                                                            "bounded_by"))
    timeouts = lb_timeouts(target.ssh(LB, "nginx -T 2>/dev/null").stdout)
    explains = [name for name, seconds in timeouts.items()
                if seconds <= result.max_latency_s <= seconds + RETRY_MARGIN_S] or ["none"]
    verdict.see(predicted_failed=predicted, failed=result.failed, slowest_s=slowest,
                recorded_slowest_s=result.max_latency_s, bounded_by=bounded_by, timeouts=timeouts)
    if not _count(predicted):
        verdict.fail("`predicted_failed` is not a whole number: before the drill, predict how many of its requests "
                     "will fail (any honest guess scores; it is compared with the outcome, not graded by it)")
    if not is_number(slowest):
        verdict.fail("`slowest_s` is not a number: read the slowest request's time from the drill (max_latency_s)")
    elif abs(slowest - result.max_latency_s) > max(READ_TOLERANCE, READ_TOLERANCE * result.max_latency_s):
        verdict.fail(f"slowest_s is {slowest}, but the drill's slowest request took {result.max_latency_s:.2f} s: "
                     "read it from the drill's result (max_latency_s)")
    if bounded_by not in explains:
        verdict.fail(f"bounded_by is {bounded_by!r}: which of lb1's timeouts ({', '.join(timeouts)}, as nginx -T "
                     f"shows them) did the drill's slowest request ({result.max_latency_s:.2f} s) wait out before nginx "
                     "retried it on web2? Name that directive, or \"none\" if it waited out none of them")


def lb_timeouts(config: str) -> dict[str, float]:
    """TIMEOUTS as lb1's configuration (nginx -T) sets them, in seconds: the first of each, else the default."""
    found = dict(TIMEOUTS)
    for line in reversed(config.splitlines()):
        words = line.strip().rstrip(";").split()
        if len(words) == 2 and words[0] in TIMEOUTS:
            found[words[0]] = _seconds(words[1])
    return found


def _count(value) -> bool:
    return is_number(value) and isinstance(value, int) and value >= 0
