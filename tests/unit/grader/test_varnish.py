"""Chapter 09's checks on a scripted stack: each passes with Varnish in front of lb1 and names the fix when broken."""

import pytest

from grader.result import PASSED
from grader.target import ProbeError

from workshop.remote import CommandResult

from .kit import assert_hint, check_ids, own_answer, respond, run

CHAPTER = "09-varnish"
VCL = "vcl 4.1;\nsub vcl_backend_response {\n    set beresp.grace = 6h;\n}\n"
DEFAULT_GRACE = "default_grace\n        Value is: 10.000 [seconds] (default)\n"
HIT, MISS = {"X-Varnish": "32770 32768", "Age": "3"}, {"X-Varnish": "32771", "Age": "0"}


def by_cookie(path, kwargs):
    """A miss for a visitor with a session, the cached page for anonymous ones."""
    return respond(headers=MISS if "sessionid" in (kwargs.get("headers") or {}).get("Cookie", "") else HIT)


@pytest.fixture
def healthy(target, clock):
    target.on_http("varnish1", "/", by_cookie)
    target.on_http("varnish1", "/", respond(403, headers=MISS), method="POST")
    target.on_http("varnish1", "/admin/login/", respond(headers=MISS))
    target.on_ssh("lb1", "grep -cF", "1\n")
    target.on_ssh("varnish1", "vcl.list", "boot\n")
    target.on_ssh("varnish1", "vcl.show boot", VCL)
    target.on_ssh("varnish1", "param.show default_grace", DEFAULT_GRACE)
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_varnish_in_front(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, **own_answer(healthy, CHAPTER))
    assert (result.status, result.hints) == (PASSED, [])


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("varnish-in-front", lambda t: t.on_http("varnish1", "/", respond(headers={"Server": "nginx"})),
     "varnish1:80 is not answered by Varnish"),
    ("varnish-in-front", lambda t: t.on_ssh("lb1", "grep -cF", "0\n"), "a cache miss on varnish1 never reached lb1"),
    ("varnish-in-front", lambda t: t.on_http("varnish1", "/", ProbeError("nothing answers HTTP on varnish1:80")),
     "nothing answers HTTP on varnish1:80"),
    ("anonymous-pages-hit", lambda t: t.on_http("varnish1", "/", respond(headers=MISS)),
     "the second anonymous view of / was not a hit"),
    ("private-requests-pass", lambda t: t.on_http("varnish1", "/", respond(headers=MISS), method="POST"),
     "a POST to / came back from the cache or as a GET"),
    ("private-requests-pass", lambda t: t.on_http("varnish1", "/admin/login/", respond(headers=HIT)),
     "/admin/ pages come from the cache"),
    ("private-requests-pass", lambda t: t.on_http("varnish1", "/", respond(headers=HIT)),
     "a request with a sessionid cookie got the cached anonymous page"),
    ("grace-configured", lambda t: t.on_ssh("varnish1", "vcl.list", ""), "varnishadm lists no active VCL on varnish1"),
    ("grace-configured", lambda t: t.on_ssh("varnish1", "vcl.show boot", VCL.replace("6h", "30s")),
     "objects are kept only 30 s past their TTL"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def test_a_vcl_loaded_a_moment_ago_is_waited_for_not_blamed(healthy):
    """Its probe has no verdict yet, so Varnish answers 503 and lb1 sees nothing; once the
    probe finds lb1 healthy, the same probe passes."""
    answers = iter([respond(503, headers=MISS), respond(headers=MISS)])
    healthy.on_http("varnish1", "/", lambda path, kwargs: next(answers))
    logged = iter(["0\n", "1\n"])
    healthy.on_ssh("lb1", "grep -cF", lambda command: next(logged))
    verdicts = iter([1, 1, 0])  # sick twice, then healthy
    healthy.on_ssh("varnish1", "backend.list", lambda command: CommandResult(command, "", "", next(verdicts)))
    result = run(healthy, CHAPTER, "varnish-in-front")
    assert (result.status, result.hints) == (PASSED, [])


def test_a_backend_that_stays_sick_is_named_as_such(healthy):
    healthy.on_http("varnish1", "/", respond(503, headers=MISS))
    healthy.on_ssh("lb1", "grep -cF", "0\n")
    healthy.on_ssh("varnish1", "backend.list", CommandResult("backend.list", "", "", 1))
    assert_hint(run(healthy, CHAPTER, "varnish-in-front"),
                "the active VCL on varnish1 has had no healthy backend for 20 s (varnishadm backend.list on varnish1), "
                "so every cache miss is answered 503")
