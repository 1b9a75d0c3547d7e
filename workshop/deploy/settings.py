"""The app's settings on the reference stack at the end of each chapter.

Every chapter from 05 on redeploys the web servers with one more service in
their settings (shared media, then the cache servers, then pgpool in front of
the database). Deploy steps, catch-up and tests take the settings from here,
so no chapter has to restate what the earlier ones configured.

Example::

    deploy_release_web_server(lab, "web1", **reference_settings(lab, 6))
"""

from __future__ import annotations

from ..lab import Lab
from ..memcached_stats import MEMCACHED_PORT
from .media import storage_settings
from .postgres import database_url

CACHE_SERVERS = ("cache1", "cache2")


def cache_servers(lab: Lab, names: tuple[str, ...] = CACHE_SERVERS) -> tuple[str, ...]:
    """CACHE_SERVERS entries (private address:port) for the memcached instances `names`."""
    return tuple(f"{lab.planned_ip(name)}:{MEMCACHED_PORT}" for name in names)


def reference_settings(lab: Lab, chapter: int) -> dict:
    """Keyword arguments for app_environment on the reference stack after `chapter`.
    Once pgpool1 exists the app goes through it whatever the chapter: the database
    then admits the app from pgpool only, and a failover may have moved the primary."""
    settings: dict = {}
    if chapter >= 3:
        behind_pgpool = chapter >= 7 or "pgpool1" in lab.require_stack().instances
        settings["database_url"] = database_url(lab, "pgpool1" if behind_pgpool else "db1")
    if chapter >= 5:
        settings["storage"] = storage_settings(lab)
    if chapter >= 6:
        settings["cache_servers"] = cache_servers(lab)
    return settings
