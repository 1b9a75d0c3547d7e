"""Apache + mod_wsgi on a web instance: the vhost, checked before it goes live."""

from __future__ import annotations

from .. import configs, grading
from ..errors import ConfigError
from ..lab import Instance
from ..progress import Progress
from .app import CURRENT, MEDIA_ROOT, STATIC_ROOT, VENV

SITE = "/etc/apache2/sites-available/newsroom.conf"


def reference_vhost(server_name: str = "newsroom") -> str:
    """The course's vhost for the app (configs/apache/newsroom.conf.j2)."""
    return configs.render("apache/newsroom.conf.j2", server_name=server_name, venv=VENV, app_dir=CURRENT,
                          static_root=STATIC_ROOT, media_root=MEDIA_ROOT)


def configure_apache(web: Instance, vhost: str, progress: Progress | None = None, restart: bool = False) -> None:
    """Install `vhost` as the only site; if `apachectl configtest` rejects it, put the
    previous one back and raise ConfigError with Apache's own diagnosis."""
    if grading.active():
        grading.skip(f"configure Apache on {web.name}")
        return
    progress = progress or Progress(f"Apache on {web.name}")
    progress.say(web.name, "configuring Apache (newsroom site, mod_wsgi)")
    web.put_text("/etc/apache2/conf-available/servername.conf", configs.path("apache/servername.conf").read_text())
    web.run(f"a2enconf -q servername && a2enmod -q wsgi && (test -f {SITE} && cp {SITE} {SITE}.previous || true)")
    web.put_text(SITE, vhost)
    test = web.run("a2dissite -q 000-default >/dev/null 2>&1; a2ensite -q newsroom && apachectl configtest 2>&1",
                   check=False)
    if not test.ok:
        web.run(f"if test -f {SITE}.previous; then mv {SITE}.previous {SITE}; "
                f"else a2dissite -q newsroom; rm -f {SITE}; fi")
        raise ConfigError(f"apachectl configtest rejected the vhost; the previous configuration stays live:\n"
                          f"{test.stdout.strip()}")
    action = "restart" if restart else "reload-or-restart"
    web.run(f"systemctl enable -q apache2 && systemctl {action} apache2")
