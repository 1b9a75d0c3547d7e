"""Chapter 06, two cache servers: memcached runs on cache1 and cache2 where the web
servers can reach it, every web server lists both, the keys spread over both,
and pages read from the cache instead of the database."""

from __future__ import annotations

import re

from workshop.memcached_stats import MEMCACHED_PORT, STATS_COMMAND, parse_stats

from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "06-caching"
LB, WEBS, CACHE_SERVERS = "lb1", ("web1", "web2"), ("cache1", "cache2")
ARTICLE_LINK = re.compile(r'href="(/articles/[a-z0-9-]+/)"')
ARTICLE_PAGES, HEALTH_REQUESTS, HOME_REQUESTS, MIN_HITS = 10, 20, 10, 8


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


@check(CHAPTER, "web-servers-use-both", "every web server caches in both memcached servers", points=2)
def web_servers_use_both(target: Target, verdict: Verdict) -> None:
    expected = cache_addresses(target)
    for web in WEBS:
        cache = target.health(web)["cache"]
        verdict.see(**{web: cache})
        listed = set(cache.get("servers") or [])
        if "memcached" not in cache.get("backend", "").lower():
            verdict.fail(f"{web} has no cache servers ({cache.get('backend')}): set CACHE_SERVERS="
                         f"{','.join(expected)} in /etc/newsroom/env and restart apache2")
        elif missing := [name for address, name in expected.items() if address not in listed]:
            verdict.fail(f"{web}'s CACHE_SERVERS lacks {', '.join(missing)}: list every cache server "
                         f"({','.join(expected)}) so the keys spread over all of them")
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
                         f"do not use it; list both cache servers in CACHE_SERVERS on web1 and web2")


@check(CHAPTER, "pages-hit-the-cache", "repeated page views are cache hits", points=1)
def pages_hit_the_cache(target: Target, verdict: Verdict) -> None:
    before = sum(stats(target, name).get("get_hits", 0) for name in CACHE_SERVERS)
    statuses = [target.http(LB, "/").status_code for _ in range(HOME_REQUESTS)]
    hits = sum(stats(target, name).get("get_hits", 0) for name in CACHE_SERVERS) - before
    verdict.see(home_requests=HOME_REQUESTS, statuses=sorted(set(statuses)), new_hits=hits)
    if hits < MIN_HITS:
        verdict.fail(f"{HOME_REQUESTS} views of the home page made only {hits} cache hits in memcached: "
                     "are web1 and web2 using CACHE_SERVERS (see the check above) and answering through lb1?")
