"""Chapter 06, two cache servers: memcached runs on cache1 and cache2 where the web
servers can reach it, every web server runs the student's CACHES and lists both,
the keys spread over both, and pages read from the cache instead of the database."""

from __future__ import annotations

import re

from workshop.cache_settings import parse_caches, same_caches
from workshop.configs import COURSE_ANSWER
from workshop.errors import ConfigError
from workshop.memcached_stats import MEMCACHED_PORT, STATS_COMMAND, parse_stats

from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "06-caching"
LB, WEBS, CACHE_SERVERS = "lb1", ("web1", "web2"), ("cache1", "cache2")
ARTICLE_LINK = re.compile(r'href="(/articles/[a-z0-9-]+/)"')
ARTICLE_PAGES, HEALTH_REQUESTS, HOME_REQUESTS, MIN_HITS = 10, 20, 10, 8
CACHE_SETTINGS = "/etc/newsroom/cache_settings.py"
INSTALL = "memcached.configure_caches(lab, caches)"


def stats(target: Target, name: str) -> dict:
    result = target.ssh(name, STATS_COMMAND)
    found = parse_stats(result.stdout)
    if not found:
        raise ProbeError(f"memcached on {name} does not answer on port {MEMCACHED_PORT}: "
                         f"systemctl enable --now memcached on {name}")
    return found


def cache_addresses(target: Target) -> dict[str, str]:
    return {f"{target.record(name).private_ip}:{MEMCACHED_PORT}": name for name in CACHE_SERVERS}


@check(CHAPTER, "memcached-on-both", "memcached runs on cache1 and cache2, on their private addresses", points=1)
def memcached_on_both(target: Target, verdict: Verdict) -> None:
    for name in CACHE_SERVERS:
        stats(target, name)
        address = target.record(name).private_ip
        listening = target.listening_addresses(name, MEMCACHED_PORT)
        verdict.see(**{f"{name}_listens": listening})
        if address not in listening and "0.0.0.0" not in listening:
            verdict.fail(f"memcached on {name} listens only on loopback, the web servers cannot reach it: "
                         f"-l 127.0.0.1,{address} in /etc/memcached.conf, systemctl restart memcached")


@check(CHAPTER, "runs-your-caches", "web1 and web2 run the CACHES you wrote (`caches`)", points=1,
       answers=("caches",))
def runs_your_caches(target: Target, verdict: Verdict) -> None:
    written = target.answers.get("caches")
    if not isinstance(written, dict) or not isinstance(written.get("default"), dict):
        verdict.fail("`caches` is not set: write the CACHES setting (a dict with a 'default' cache) in the answer "
                     f"cell of exercise 06a, run it, then install it ({INSTALL})")
        return
    if written["default"].get("OPTIONS", {}).get("ignore_exc") is not True:
        verdict.fail("your CACHES has no OPTIONS 'ignore_exc': True: with it a dead cache server means cache "
                     "misses; without it every page that touches the cache fails (500) until it is back")
    for web in WEBS:
        live = target.ssh(web, f"cat {CACHE_SETTINGS}")
        if not live.ok:
            verdict.fail(f"{web} has no cache settings at {CACHE_SETTINGS}: install yours ({INSTALL})")
            continue
        if live.stdout.startswith(COURSE_ANSWER):
            verdict.fail(f"{web} runs the course's own cache settings (their first line says so: `workshop "
                         f"catch-up` installed them), which earn no points: write your own `caches` in exercise "
                         f"06a and install it ({INSTALL})")
            continue
        try:
            running = parse_caches(live.stdout)
        except ConfigError as exc:
            verdict.fail(f"{web}'s {CACHE_SETTINGS} cannot be read back ({exc}): install yours ({INSTALL})")
            continue
        verdict.see(**{web: running.get("default", {}).get("LOCATION")})
        if not same_caches(running, written):
            verdict.fail(f"{web} runs other cache settings than your `caches` ({CACHE_SETTINGS} differs from it): "
                         f"run the answer cell, then install it ({INSTALL})")


@check(CHAPTER, "web-servers-use-both", "every web server caches in both memcached servers", points=1)
def web_servers_use_both(target: Target, verdict: Verdict) -> None:
    expected = cache_addresses(target)
    for web in WEBS:
        cache = target.health(web)["cache"]
        verdict.see(**{web: cache})
        listed = set(cache.get("servers") or [])
        if "memcached" not in cache.get("backend", "").lower():
            verdict.fail(f"{web} has no cache servers ({cache.get('backend')}): a memcached BACKEND in your "
                         f"CACHES, with LOCATION {sorted(expected)}, installed with {INSTALL}")
        elif missing := [name for address, name in expected.items() if address not in listed]:
            verdict.fail(f"{web}'s CACHES LOCATION lacks {', '.join(missing)}: list every cache server "
                         f"({', '.join(expected)}) so the keys spread over all of them")
        elif not cache.get("ok"):
            verdict.fail(f"{web} cannot store a value in memcached: is memcached reachable from {web} "
                         f"on port {MEMCACHED_PORT}?")


@check(CHAPTER, "keys-on-both", "traffic through lb1 stores keys on both cache servers", points=2)
def keys_on_both(target: Target, verdict: Verdict) -> None:
    before = {name: stats(target, name).get("cmd_set", 0) for name in CACHE_SERVERS}
    links = sorted(set(ARTICLE_LINK.findall(target.http(LB, "/").text)))[:ARTICLE_PAGES]
    for link in links:
        target.http(LB, link)
    # A site has few pages; each health check stores a key with a random name, so
    # HEALTH_REQUESTS of them reach both servers unless one is left out of the list.
    for _ in range(HEALTH_REQUESTS):
        target.http(LB, "/health/")
    stored = {name: stats(target, name).get("cmd_set", 0) - before[name] for name in CACHE_SERVERS}
    requests_sent = len(links) + 1 + HEALTH_REQUESTS
    verdict.see(requests_through_lb1=requests_sent, keys_stored=stored)
    for name, count in stored.items():
        if not count:
            verdict.fail(f"{name} stored no keys while {requests_sent} requests went through lb1: the web servers "
                         f"do not use it; list both cache servers in your CACHES LOCATION on web1 and web2")


@check(CHAPTER, "pages-hit-the-cache", "repeated page views are cache hits", points=1)
def pages_hit_the_cache(target: Target, verdict: Verdict) -> None:
    before = sum(stats(target, name).get("get_hits", 0) for name in CACHE_SERVERS)
    statuses = [target.http(LB, "/").status_code for _ in range(HOME_REQUESTS)]
    hits = sum(stats(target, name).get("get_hits", 0) for name in CACHE_SERVERS) - before
    verdict.see(home_requests=HOME_REQUESTS, statuses=sorted(set(statuses)), new_hits=hits)
    if hits < MIN_HITS:
        verdict.fail(f"{HOME_REQUESTS} views of the home page made only {hits} cache hits in memcached: "
                     "are web1 and web2 using your CACHES (see the checks above) and answering through lb1?")
