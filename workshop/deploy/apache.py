"""Apache + mod_wsgi on a web instance: the vhost, checked before it goes live."""

from __future__ import annotations

from dataclasses import replace

from .. import configs, grading
from ..errors import WorkshopError
from ..lab import Instance
from ..progress import Progress
from .app import CURRENT, MEDIA_ROOT, STATIC_ROOT, VENV
from .config_file import ConfigFile, put_config

SITE = ConfigFile("/etc/apache2/sites-available/newsroom.conf",
                  check="a2dissite -q 000-default >/dev/null 2>&1; a2enconf -q servername && a2enmod -q wsgi "
                        "&& a2ensite -q newsroom && apachectl configtest",
                  rejected="apachectl configtest rejected the vhost", drop="a2dissite -q newsroom", service="apache2")
SERVER_NAME = "/etc/apache2/conf-available/servername.conf"


def reference_vhost(server_name: str = "newsroom") -> str:
    """The course's vhost for the app (configs/apache/newsroom.conf.j2)."""
    return configs.render("apache/newsroom.conf.j2", server_name=server_name, venv=VENV, app_dir=CURRENT,
                          static_root=STATIC_ROOT, media_root=MEDIA_ROOT)


def installed_vhost(web: Instance) -> str:
    """The vhost `web` runs (on web1, the student's own from chapter 02), for the web servers
    that must run the same."""
    result = web.run(f"cat {SITE.path}", readonly=True, check=False)
    if not result.ok:
        raise WorkshopError(f"{web.name} has no vhost at {SITE.path}: deploy yours first (exercise 02a), or "
                            "catch up with the course's (workshop catch-up 4)")
    return result.stdout


@grading.changes("configure Apache on {web.name}")
def configure_apache(web: Instance, vhost: str, progress: Progress | None = None, restart: bool = False) -> None:
    """Install `vhost` as the only site; if `apachectl configtest` rejects it, put the
    previous one back and raise ConfigError with Apache's own diagnosis. Apache restarts
    when `restart` (its environment changed), reloads when a file changed, else is left be."""
    progress = progress or Progress(f"Apache on {web.name}")
    progress.say(web.name, "configuring Apache (newsroom site, mod_wsgi)")
    server_name = web.update_text(SERVER_NAME, configs.path("apache/servername.conf").read_text())
    action = "restart" if restart else "reload-or-restart"
    site = SITE if not server_name else replace(SITE, service="")  # a new ServerName goes through the check too
    if not put_config(web, site, vhost, apply=f"systemctl enable -q apache2 && systemctl {action} apache2") and restart:
        web.run("systemctl restart apache2")
