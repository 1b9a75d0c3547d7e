"""Chapter 06's checks on a scripted stack: each passes with both cache servers in use and names the fix when broken."""

import itertools

import pytest

from grader.result import PASSED
from workshop.cache_settings import settings_text
from workshop.memcached_stats import STATS_COMMAND

from .kit import PRIVATE_IPS, assert_hint, check_ids, health, respond, run

CHAPTER = "06-caching"
CACHE1, CACHE2 = PRIVATE_IPS["cache1"], PRIVATE_IPS["cache2"]
HOME = '<a href="/articles/first/">First</a> <a href="/articles/second/">Second</a>'
READ_CACHES = "cat /etc/newsroom/cache_settings.py"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                      "LOCATION": [f"{CACHE1}:11211", f"{CACHE2}:11211"],
                      "OPTIONS": {"ignore_exc": True, "timeout": 1}}}


def memcached(step: int):
    """`stats` replies whose cmd_set and get_hits grow by `step` at each call (0: an unused server)."""
    calls = itertools.count()

    def reply(command):
        count = next(calls) * step
        return f"STAT pid 42\r\nSTAT cmd_set {count}\r\nSTAT get_hits {count}\r\nEND\r\n"
    return reply


@pytest.fixture
def healthy(target):
    for name, address in (("cache1", CACHE1), ("cache2", CACHE2)):
        target.on_ssh(name, STATS_COMMAND, memcached(step=5))
        target.facts(name).listening = ["tcp://127.0.0.1:11211", f"tcp://{address}:11211", "tcp://0.0.0.0:22"]
    for web in ("web1", "web2"):
        target.on_http(web, "/health/", health(web))
        target.on_ssh(web, READ_CACHES, settings_text(CACHES))
    target.on_http("lb1", "/", respond(text=HOME))
    for link in ("/articles/first/", "/articles/second/"):
        target.on_http("lb1", link, respond(text="an article"))
    target.on_http("lb1", "/health/", health())
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_both_cache_servers_in_use(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, caches=CACHES)
    assert (result.status, result.hints) == (PASSED, [])


def test_memcached_listening_on_every_interface_is_reachable(healthy):
    healthy.facts("cache2").listening = ["tcp://0.0.0.0:11211"]
    assert run(healthy, CHAPTER, "memcached-on-both").status == PASSED


def cache(**fields):
    return health(cache={**health().json()["cache"], **fields})


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("memcached-on-both", lambda t: t.on_ssh("cache2", STATS_COMMAND, ""),
     "memcached on cache2 does not answer on port 11211: systemctl enable --now memcached on cache2"),
    ("memcached-on-both", lambda t: setattr(t.facts("cache1"), "listening", ["tcp://127.0.0.1:11211"]),
     "memcached on cache1 listens only on loopback, the web servers cannot reach it: -l 127.0.0.1,10.0.0.31"),
    ("web-servers-use-both", lambda t: t.on_http("web2", "/health/", cache(
        backend="django.core.cache.backends.locmem.LocMemCache", servers=[])),
     "web2 has no cache servers (django.core.cache.backends.locmem.LocMemCache)"),
    ("web-servers-use-both", lambda t: t.on_http("web1", "/health/", cache(servers=[f"{CACHE1}:11211"])),
     "web1's CACHES LOCATION lacks cache2"),
    ("web-servers-use-both", lambda t: t.on_http("web1", "/health/", cache(ok=False)),
     "web1 cannot store a value in memcached"),
    ("keys-on-both", lambda t: t.on_ssh("cache2", STATS_COMMAND, memcached(step=0)),
     "cache2 stored no keys while 23 requests went through lb1"),
    ("pages-hit-the-cache", lambda t: [t.on_ssh(name, STATS_COMMAND, memcached(step=0)) for name in ("cache1", "cache2")],
     "10 views of the home page made only 0 cache hits in memcached"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def other(**options):
    return {"default": {**CACHES["default"], "OPTIONS": options}}


@pytest.mark.parametrize("answer, break_it, hint", [
    (None, None, "`caches` is not set: write the CACHES setting"),
    ("CACHES = {}", None, "`caches` is not set"),
    (CACHES, lambda t: t.on_ssh("web2", READ_CACHES, "", exit_code=1),
     "web2 has no cache settings at /etc/newsroom/cache_settings.py: install yours"),
    (CACHES, lambda t: t.on_ssh("web1", READ_CACHES, "# workshop catch-up: the course's own answer to exercise 06a\n"
                                + settings_text(CACHES)),
     "web1 runs the course's own cache settings"),
    (CACHES, lambda t: t.on_ssh("web1", READ_CACHES, settings_text(other(ignore_exc=True))),
     "web1 runs other cache settings than your `caches`"),
    (CACHES, lambda t: t.on_ssh("web2", READ_CACHES, "CACHES = {'default': dict(BACKEND='x')}"),
     "web2's /etc/newsroom/cache_settings.py cannot be read back (the cache settings' CACHES is not plain data"),
    (other(timeout=1), lambda t: [t.on_ssh(web, READ_CACHES, settings_text(other(timeout=1))) for web in ("web1", "web2")],
     "your CACHES has no OPTIONS 'ignore_exc': True"),
])
def test_runs_your_caches_names_what_differs(healthy, answer, break_it, hint):
    if break_it:
        break_it(healthy)
    assert_hint(run(healthy, CHAPTER, "runs-your-caches", caches=answer), hint)


def test_runs_your_caches_takes_the_answer_as_it_reaches_the_grader(healthy):
    """Under autograde the answer comes as JSON: the tuple a student wrote is a list there."""
    written = {"default": {**CACHES["default"], "LOCATION": tuple(CACHES["default"]["LOCATION"])}}
    for web in ("web1", "web2"):
        healthy.on_ssh(web, READ_CACHES, settings_text(written))
    assert run(healthy, CHAPTER, "runs-your-caches", caches=CACHES).status == PASSED
