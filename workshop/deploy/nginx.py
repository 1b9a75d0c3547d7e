"""nginx on lb1: balancing the web servers, serving static files, proxying media.

Example::

    deploy_load_balancer(lab, web_servers=["web1", "web2"])
"""

from __future__ import annotations

import base64

from .. import configs, grading
from ..lab import Instance, Lab
from ..progress import Progress
from ..topology import WEB_SERVERS
from .app import STATIC_ROOT
from .config_file import ConfigFile, keeping_own, put_config
from .media import media_url

ENABLED = "/etc/nginx/sites-enabled/newsroom"
SITE = ConfigFile("/etc/nginx/sites-available/newsroom",
                  check=f"rm -f /etc/nginx/sites-enabled/default && ln -sfn ../sites-available/newsroom {ENABLED} "
                        "&& nginx -t",
                  rejected="nginx -t rejected the configuration", drop=f"rm -f {ENABLED}", service="nginx")
# A reload returns at once while the old workers still take requests: wait (5 s at
# most) until they have exited, so what follows sees only the new configuration.
# Anchored: the shell running this line has the pattern in its own command line.
RELOAD = ("old=$(pgrep -d ' ' -f '^nginx: worker process'); "
          "systemctl enable -q nginx && systemctl reload-or-restart nginx && for i in $(seq 50); do "
          "alive=0; for pid in $old; do kill -0 $pid 2>/dev/null && alive=1; done; "
          "[ $alive = 0 ] && break; sleep 0.1; done")


def reference_lb_config(lab: Lab, web_servers: tuple[str, ...] = WEB_SERVERS, media: str = "media1") -> str:
    """The course's nginx site for lb1 (configs/nginx/newsroom.conf.j2), with private addresses."""
    return configs.render("nginx/newsroom.conf.j2", web_servers=[lab.planned_ip(name) for name in web_servers],
                          static_root=STATIC_ROOT, media_url=media_url(lab, media))


@grading.changes("configure nginx on {lb.name}")
def configure_nginx(lb: Instance, site: str, progress: Progress | None = None) -> None:
    """Install `site` as nginx's only site; if `nginx -t` rejects it, put the previous
    one back and raise ConfigError with nginx's own diagnosis."""
    progress = progress or Progress(f"nginx on {lb.name}")
    progress.say(lb.name, "configuring nginx (upstream, static, media)")
    put_config(lb, SITE, site, apply=RELOAD)


@grading.changes("copy static files from {source.name} to {lb.name}")
def sync_static(source: Instance, lb: Instance) -> None:
    """Copy collectstatic's output from a web server to the load balancer, which serves it
    (unless the load balancer has the same files already)."""
    if static_digest(source) == static_digest(lb):
        return
    packed = source.run(f"tar -C {STATIC_ROOT} -cz . | base64 -w0", readonly=True).stdout
    lb.put_bytes("/tmp/static.tar.gz", base64.b64decode(packed))
    lb.run(f"rm -rf {STATIC_ROOT} && install -d {STATIC_ROOT} && tar -xzf /tmp/static.tar.gz -C {STATIC_ROOT} "
           "&& rm /tmp/static.tar.gz")


def static_digest(host: Instance) -> str:
    """One digest of every static file's path and content on `host` ("" if it has none)."""
    return host.run(f"cd {STATIC_ROOT} 2>/dev/null && find . -type f -print0 | sort -z | xargs -0r sha256sum "
                    "| sha256sum", readonly=True, check=False).stdout.strip()


@grading.changes("deploy the load balancer {name}", fallback=grading.named_instance)
def deploy_load_balancer(lab: Lab, name: str = "lb1", web_servers: tuple[str, ...] = WEB_SERVERS,
                         progress: Progress | None = None) -> Instance:
    """The reference deploy of chapter 05's load balancer; idempotent."""
    progress = progress or Progress(f"deploy {name}")
    lb = lab.up(name)
    sync_static(lab.instance(web_servers[0]), lb)
    configure_nginx(lb, keeping_own(lb, SITE, reference_lb_config(lab, web_servers), progress), progress)
    progress.done(f"{name} balances {', '.join(web_servers)}")
    return lb
