"""memcached on cache1 and cache2 (chapter 06): the cache servers every web server shares.

Example::

    deploy_cache_servers(lab)                 # cache1 and cache2, listening privately
    memcached_stats(lab.instance("cache1"))["get_hits"]
"""

from __future__ import annotations

from .. import configs, grading
from ..concurrency import on_each
from ..lab import Instance, Lab
from ..progress import Progress
from ..memcached_stats import MEMCACHED_PORT, STATS_COMMAND, parse_stats
from .config_file import ConfigFile, keeping_own, put_config
from .settings import CACHE_SERVERS

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
