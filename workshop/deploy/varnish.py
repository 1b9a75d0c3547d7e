"""Varnish on varnish1 (chapter 09): the HTTP cache in front of the load balancer.

Example::

    deploy_varnish(lab)                       # varnish1:80 -> lb1:80
"""

from __future__ import annotations

from .. import configs, grading
from ..errors import ConfigError
from ..lab import Instance, Lab
from ..progress import Progress
from ..varnish_backends import ACTIVE_BACKEND_HEALTHY, PROBE_WAIT_S
from ..waiting import wait_until
from .config_file import ConfigFile, keeping_own, put_config

VCL = "/etc/varnish/newsroom.vcl"
# Compiling is enough: the running Varnish takes the file in only on reload.
VCL_FILE = ConfigFile(VCL, check=f"varnishd -C -f {VCL} 2>&1 >/dev/null", rejected="varnishd -C rejected the VCL",
                      service="varnish")
UNIT_DROPIN = "/etc/systemd/system/varnish.service.d/workshop.conf"
GRACE = "6h"
MEMORY_MB = 256
MAX_OPEN_FILES = 4096


def reference_vcl(lab: Lab, backend: str = "lb1", grace: str = GRACE) -> str:
    """The course's VCL (configs/varnish/newsroom.vcl.j2) with `backend`'s private address."""
    return configs.render("varnish/newsroom.vcl.j2", backend_ip=lab.planned_ip(backend), grace=grace)


@grading.changes("configure Varnish on {varnish.name}")
def configure_varnish(varnish: Instance, vcl: str, progress: Progress | None = None) -> None:
    """Install `vcl` and make it the active one. A VCL that does not compile
    (varnishd -C) never replaces the running one: ConfigError carries the compiler's message."""
    progress = progress or Progress(f"Varnish on {varnish.name}")
    progress.say(varnish.name, "configuring Varnish (port 80, newsroom VCL)")
    vcl_changed = put_config(varnish, VCL_FILE, vcl)
    dropin = configs.render("varnish/varnish.service.conf.j2", vcl=VCL, memory_mb=MEMORY_MB,
                            max_open_files=MAX_OPEN_FILES)
    if varnish.update_text(UNIT_DROPIN, dropin):
        varnish.run("systemctl daemon-reload && systemctl enable -q varnish && systemctl restart varnish")
    elif vcl_changed:
        # varnishreload loads and activates the new VCL; the cache's contents survive.
        varnish.run("systemctl reload-or-restart varnish")
    else:
        return
    # varnishd is a Type=simple unit: systemctl returns before port 80 listens.
    listening = varnish.run("for i in $(seq 50); do ss -ltnH 'sport = :80' | grep -q . && exit 0; sleep 0.2; done; "
                            "exit 1", check=False)
    if not listening.ok:
        log = varnish.run("journalctl -u varnish -n 15 --no-pager", readonly=True, check=False).stdout
        raise ConfigError(f"Varnish does not listen on port 80 on {varnish.name}:\n{log}")
    if not backend_healthy(varnish):
        progress.say(varnish.name, f"Varnish's probe does not find the backend healthy after {PROBE_WAIT_S} s: "
                                   "it answers 503 until it does (varnishadm backend.list)")


def backend_healthy(varnish: Instance, timeout: float = PROBE_WAIT_S) -> bool:
    """Whether the active VCL's probe finds its backend healthy within `timeout`: a new VCL
    starts with no verdict, and Varnish answers 503 while its backend is not known healthy."""
    return wait_until(lambda: varnish.run(ACTIVE_BACKEND_HEALTHY, readonly=True, check=False).ok, timeout, 0.5)


@grading.changes("deploy Varnish on {name}", fallback=grading.named_instance)
def deploy_varnish(lab: Lab, name: str = "varnish1", backend: str = "lb1",
                   progress: Progress | None = None) -> Instance:
    """The reference deploy of chapter 09's cache; idempotent."""
    progress = progress or Progress(f"deploy {name}")
    varnish = lab.up(name)
    configure_varnish(varnish, keeping_own(varnish, VCL_FILE, reference_vcl(lab, backend), progress), progress)
    progress.done(f"{name} caches {backend}")
    return varnish
