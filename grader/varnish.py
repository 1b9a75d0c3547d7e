"""Chapter 09, Varnish in front: varnish1 relays to lb1, anonymous page views are
cache hits, writes, the admin and logged-in visitors always reach the app, and
a grace period keeps pages served while the backend is briefly down."""

from __future__ import annotations

import re
import shlex
import time
import uuid

from .course_answers import ANSWER_FILES, runs_answer
from .foundations import backend_cause
from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "09-varnish"
VARNISH, LB = "varnish1", "lb1"
MIN_GRACE_S = 60
ANSWER = ANSWER_FILES[CHAPTER]
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def was_hit(response) -> bool:
    """Varnish names two transactions in X-Varnish on a hit (this one and the stored one)."""
    return len(response.headers.get("X-Varnish", "").split()) == 2


def duration_s(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*(ms|s|m|h|d|w|y)", text.strip()).groups()
    return float(number) * _UNITS[unit]


def relayed(target: Target) -> tuple:
    """A cache miss sent to varnish1, and how many times lb1 logged it."""
    probe = uuid.uuid4().hex
    response = target.http(VARNISH, f"/?probe={probe}")
    return response, target.count_in_logs(LB, f"probe={probe}", "/var/log/nginx/access.log")


check(CHAPTER, "runs-your-vcl", ANSWER.title, points=1, answers=(ANSWER.variable,),
      stands_on=(ANSWER.machine,))(runs_answer(ANSWER))


@check(CHAPTER, "varnish-in-front", "varnish1 answers on port 80 and relays to lb1", points=1,
       judges=("varnish-backend",))
def varnish_in_front(target: Target, verdict: Verdict) -> None:
    response, seen_by_lb = relayed(target)
    if response.status_code == 503 and "X-Varnish" in response.headers and not seen_by_lb:
        sick = backend_cause(target, VARNISH)  # waits for a VCL loaded a moment ago to find its backend
        if sick:
            verdict.see(status=503, backend="sick")
            verdict.fail(sick)
            return
        response, seen_by_lb = relayed(target)  # healthy now: the VCL had just been loaded
    verdict.see(status=response.status_code, x_varnish=response.headers.get("X-Varnish"),
                served_by=response.headers.get("X-Served-By"), lb1_log_lines=seen_by_lb)
    if "X-Varnish" not in response.headers:
        verdict.fail("varnish1:80 is not answered by Varnish: run varnishd with -a :80 "
                     "(a systemd drop-in for varnish.service) and systemctl restart varnish")
    elif not seen_by_lb:
        verdict.fail("a cache miss on varnish1 never reached lb1: the VCL's backend must be lb1's private address "
                     "(not a web server), so the load balancer keeps spreading the misses")


@check(CHAPTER, "anonymous-pages-hit", "anonymous views of public pages are cache hits", points=1)
def anonymous_pages_hit(target: Target, verdict: Verdict) -> None:
    target.http(VARNISH, "/")
    time.sleep(1.1)  # so that a stored copy has Age >= 1
    response = target.http(VARNISH, "/")
    verdict.see(x_varnish=response.headers.get("X-Varnish"), age=response.headers.get("Age"),
                cache_control=response.headers.get("Cache-Control"))
    if not was_hit(response) or int(response.headers.get("Age", "0") or 0) < 1:
        verdict.fail("the second anonymous view of / was not a hit (X-Varnish with two ids, Age > 0): "
                     "in vcl_recv drop the cookies of anonymous visitors and return (hash) for GET and HEAD")


@check(CHAPTER, "private-requests-pass", "POSTs, the admin and logged-in visitors reach the app", points=2)
def private_requests_pass(target: Target, verdict: Verdict) -> None:
    posted = [target.http(VARNISH, "/", method="POST") for _ in range(2)]
    admin = [target.http(VARNISH, "/admin/login/") for _ in range(2)]
    cookie = {"Cookie": f"sessionid={uuid.uuid4().hex}"}
    logged_in = [target.http(VARNISH, "/", headers=cookie) for _ in range(2)]
    verdict.see(post_statuses=[r.status_code for r in posted], admin_hits=[was_hit(r) for r in admin],
                session_hits=[was_hit(r) for r in logged_in])
    if any(r.status_code == 200 or was_hit(r) for r in posted):
        verdict.fail("a POST to / came back from the cache or as a GET (the app refuses a bare POST / with 403): "
                     "in vcl_recv, return (pass) for every method but GET and HEAD")
    if any(was_hit(r) for r in admin):
        verdict.fail("/admin/ pages come from the cache: return (pass) for /admin, /accounts and the other "
                     "per-user paths in vcl_recv")
    if any(was_hit(r) for r in logged_in):
        verdict.fail("a request with a sessionid cookie got the cached anonymous page: return (pass) when the "
                     "Cookie header holds sessionid, before any cookie is removed")


@check(CHAPTER, "grace-configured", f"stale pages stay servable for at least {MIN_GRACE_S} s (grace)", points=1)
def grace_configured(target: Target, verdict: Verdict) -> None:
    active = target.ssh(VARNISH, "varnishadm vcl.list | awk '$1 == \"active\" {print $NF}'").stdout.split()
    if not active:
        raise ProbeError("varnishadm lists no active VCL on varnish1: systemctl status varnish on varnish1")
    vcl = target.ssh(VARNISH, f"varnishadm vcl.show {shlex.quote(active[-1])}").stdout
    default = target.ssh(VARNISH, "varnishadm param.show default_grace").stdout
    set_in_vcl = re.findall(r"^\s*set\s+beresp\.grace\s*=\s*([\d.]+\s*[a-z]+)\s*;", vcl, re.MULTILINE)
    default_value = re.search(r"Value is:\s*([\d.]+)\s*\[?(s|seconds)", default)
    grace = max([duration_s(v) for v in set_in_vcl] + [float(default_value.group(1)) if default_value else 0])
    verdict.see(active_vcl=active[-1], beresp_grace=set_in_vcl, default_grace=default_value and default_value.group(1))
    if grace < MIN_GRACE_S:
        verdict.fail(f"objects are kept only {grace:.0f} s past their TTL: set beresp.grace = 6h; in "
                     "vcl_backend_response so pages are still served while lb1 or the web servers are down")
