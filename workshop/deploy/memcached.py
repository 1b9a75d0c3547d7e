"""memcached on cache1 and cache2 (chapter 06): the cache servers every web server shares,
and the app's CACHES setting that makes the web servers use them.

Example::

    deploy_cache_servers(lab)                 # cache1 and cache2, listening privately
    configure_caches(lab, caches)             # exercise 06a: the student's CACHES on web1 and web2
    memcached_stats(lab.instance("cache1"))["get_hits"]
"""

from __future__ import annotations

from .. import configs, grading
from ..cache_settings import settings_text
from ..concurrency import on_each
from ..lab import Instance, Lab
from ..progress import Progress
from ..memcached_stats import MEMCACHED_PORT, STATS_COMMAND, parse_stats
from ..topology import WEB_SERVERS
from .app import CACHE_SETTINGS
from .config_file import ConfigFile, keeping_own, put_config
from .web import wait_for_health

CACHE_SERVERS = ("cache1", "cache2")

CONFIG = "/etc/memcached.conf"
# memcached has no config checker: a configuration is good if memcached starts with it, listens
# on its port (it binds every -l address before it serves, and exits if one fails) and is still
# the same process half a second later (systemd restarts it when it exits). A fixed wait alone
# passed a configuration whose bind had not failed yet on a loaded machine. (`ss -p` cannot name
# memcached's sockets: its unit sandboxes it.)
MAIN_PID = "systemctl show -p MainPID --value memcached"
PORT = f"port=$(sed -n 's/^-p[[:space:]]*\\([0-9]*\\).*/\\1/p' {CONFIG} 2>/dev/null | tail -n 1)"
LISTENING = "ss -Hltn \"sport = :${port:-11211}\" | grep -q ."
STARTED = (f"{PORT} && started=$({MAIN_PID}) && for i in $(seq 50); do {LISTENING} && break; "
           "systemctl is-active -q memcached || break; sleep 0.2; done")
CONFIG_FILE = ConfigFile(CONFIG, check=f"systemctl enable -q memcached && systemctl restart memcached && {STARTED} "
                                       f"&& sleep 0.5 && systemctl is-active -q memcached "
                                       f"&& [ \"$({MAIN_PID})\" = \"$started\" ] && {LISTENING} "
                                       "|| { journalctl -u memcached -n 15 --no-pager; false; }",
                         rejected="memcached did not start with the new configuration",
                         restore="systemctl restart memcached", service="memcached",
                         shipped="/usr/share/memcached/memcached.conf.default")
MEMORY_MB = 64
MAX_CONNECTIONS = 1024


def reference_memcached_config(lab: Lab, name: str) -> str:
    return configs.render("memcached/memcached.conf.j2", name=name, private_ip=lab.planned_ip(name),
                          port=MEMCACHED_PORT, memory_mb=MEMORY_MB, max_connections=MAX_CONNECTIONS)


@grading.changes("configure memcached on {cache.name}")
def configure_memcached(cache: Instance, config: str, progress: Progress | None = None) -> None:
    """Install `config` and restart memcached; if it does not come back, put the previous
    configuration back and raise ConfigError with what memcached logged."""
    progress = progress or Progress(f"memcached on {cache.name}")
    if put_config(cache, CONFIG_FILE, config):
        progress.say(cache.name, "configured memcached")


def cache_locations(lab: Lab, names: tuple[str, ...] = CACHE_SERVERS) -> list[str]:
    """The LOCATION entries (private address:port) of the memcached servers `names`."""
    return [f"{lab.planned_ip(name)}:{MEMCACHED_PORT}" for name in names]


def reference_cache_settings(lab: Lab) -> str:
    """The course's cache settings file (catch-up's): both cache servers."""
    return configs.render("django/cache_settings.py.j2", locations=cache_locations(lab))


@grading.changes("install your CACHES on {names}")
def configure_caches(lab: Lab, caches: dict, names: tuple[str, ...] = WEB_SERVERS,
                     progress: Progress | None = None) -> None:
    """Exercise 06a: the CACHES dict `caches` as the cache settings of every web server in
    `names`, each judged by Django's checks before its Apache reloads (a rejected file gives
    ConfigError with their output, and the previous file stays)."""
    install_cache_settings(lab, settings_text(caches), names, progress)


@grading.changes("deploy the course's cache settings on {names}")
def deploy_cache_settings(lab: Lab, names: tuple[str, ...] = WEB_SERVERS, progress: Progress | None = None) -> None:
    """The course's cache settings on the web servers `names`; a file the student wrote stays."""
    progress = progress or Progress(f"cache settings on {', '.join(names)}")
    course = reference_cache_settings(lab)
    on_each(names, lambda name: install_cache_settings(
        lab, keeping_own(lab.instance(name), CACHE_SETTINGS, course, progress), (name,), progress))


def install_cache_settings(lab: Lab, text: str, names: tuple[str, ...], progress: Progress | None = None) -> None:
    """`text` as the cache settings of the web servers `names` (reloaded where it changed); each
    then answers /health/ and says what its cache is."""
    progress = progress or Progress(f"cache settings on {', '.join(names)}")

    def install(name: str) -> None:
        web = lab.instance(name)
        if put_config(web, CACHE_SETTINGS, text, apply="systemctl reload apache2"):
            cache = wait_for_health(web)["cache"]
            progress.say(name, f"caches in {', '.join(cache['servers']) or 'nothing'} ({cache['backend']}), "
                               f"a value {'round-trips' if cache['ok'] else 'does NOT round-trip'}")

    on_each(names, install)


@grading.changes("deploy the cache servers {names}", fallback=lambda lab, names, **_: list(map(lab.instance, names)))
def deploy_cache_servers(lab: Lab, names: tuple[str, ...] = CACHE_SERVERS,
                         progress: Progress | None = None) -> list[Instance]:
    """The reference deploy of chapter 06's cache servers, all at once; idempotent."""
    progress = progress or Progress(f"deploy {', '.join(names)}")
    lab.up(*names)

    def deploy(name: str) -> Instance:
        cache = lab.instance(name)
        configure_memcached(cache, keeping_own(cache, CONFIG_FILE, reference_memcached_config(lab, name), progress),
                            progress)
        return cache

    servers = list(on_each(names, deploy).values())
    progress.done(f"memcached runs on {', '.join(names)}")
    return servers


def memcached_stats(cache: Instance) -> dict[str, int | str]:
    """The server's counters (get_hits, get_misses, curr_items, ...), read on the machine."""
    return parse_stats(cache.run(STATS_COMMAND, readonly=True).stdout)
