"""A web server of the stack: the app installed and served by Apache + mod_wsgi.

Example::

    web1 = deploy_web_server(lab, "web1")                       # chapter 02 (SQLite)
    deploy_web_server(lab, "web1", database_url=postgres_url)   # chapter 03
    deploy_own_release_web_server(lab, "web2", **settings)       # chapter 05, the student's fabfile
"""

from __future__ import annotations

from pathlib import Path

import requests

from .. import grading
from ..concurrency import on_each
from ..errors import WorkshopError
from ..lab import Instance, Lab
from ..progress import Progress
from ..waiting import wait_until
from . import app
from .apache import SITE, configure_apache, installed_vhost, reference_vhost
from .config_file import keeping_own
from .releases import deploy_releases, own_fabfile
from .wheelhouse import build_wheelhouse

HEALTH_TIMEOUT = 30


@grading.changes("install the app on {web.name}", fallback=lambda **_: False)
def install_app(lab: Lab, web: Instance, progress: Progress | None = None, **settings) -> bool:
    """Everything but the vhost: layout, wheelhouse, virtualenv, code, settings,
    migrations and static files. True when the settings changed."""
    progress = progress or Progress(f"install the app on {web.name}")
    _install_python(web, progress)
    app.install_code_in_place(web, progress)
    changed = app.write_environment(web, app.app_environment(lab, **settings))
    app.migrate_and_collect(web, progress)
    return changed


@grading.changes("install the app's packages on {names}")
def install_python(lab: Lab, names: list[str], progress: Progress) -> None:
    """The app's packages on every web server in `names` at once: the host's wheelhouse
    (built first, once), pushed, and installed into each one's virtualenv. The slowest
    step of a web server's deploy (a pip install), and the same for every one of them."""
    if names:
        build_wheelhouse(progress)
        on_each(names, lambda name: _install_python(lab.instance(name), progress))


def _install_python(web: Instance, progress: Progress) -> None:
    app.prepare_layout(web)
    app.push_wheelhouse(web, progress)
    app.install_virtualenv(web, progress)


@grading.changes("deploy the web server {name}", fallback=grading.named_instance)
def deploy_web_server(lab: Lab, name: str = "web1", progress: Progress | None = None, **settings) -> Instance:
    """The reference deploy of a web server; idempotent. `settings` go to app_environment."""
    progress = progress or Progress(f"deploy {name}")
    web = lab.up(name)
    changed = install_app(lab, web, progress, **settings)
    configure_apache(web, keeping_own(web, SITE, reference_vhost(), progress), progress, restart=changed)
    wait_for_health(web)
    progress.done(f"{name} serves the app")
    return web


@grading.changes("deploy the web server {name}", fallback=grading.named_instance)
def deploy_release_web_server(lab: Lab, name: str, progress: Progress | None = None, **settings) -> Instance:
    """A web server deployed the chapter 04 way with the course's fabfile and vhost (a vhost the
    student wrote stays); idempotent. Catch-up deploys every web server like this from chapter 05 on."""
    return _deploy_release(lab, name, None, None, progress, settings)


@grading.changes("deploy the web server {name} with your fabfile", fallback=grading.named_instance)
def deploy_own_release_web_server(lab: Lab, name: str, progress: Progress | None = None, **settings) -> Instance:
    """deploy_release_web_server the student's way: the vhost web1 runs (never replaced by the
    course's) and the deploy task of the student's chapter 04 fabfile."""
    return _deploy_release(lab, name, installed_vhost(lab.instance("web1")), own_fabfile(lab), progress, settings)


def _deploy_release(lab: Lab, name: str, vhost: str | None, fabfile: Path | None, progress: Progress | None,
                    settings: dict) -> Instance:
    """Packages, settings and `vhost` on the web server `name` (None: the course's, unless the
    server runs the student's own), then `fabfile`'s release deploy (the reference fabfile when
    None); Apache restarts when the settings changed."""
    progress = progress or Progress(f"deploy {name}")
    web = lab.up(name)
    _install_python(web, progress)
    changed = app.write_environment(web, app.app_environment(lab, **settings))
    configure_apache(web, vhost or keeping_own(web, SITE, reference_vhost(), progress), progress)
    deploy_releases(lab, [name], fabfile)
    if changed:
        web.run("systemctl restart apache2")
    wait_for_health(web)
    return web


def wait_for_health(web: Instance, timeout: float = HEALTH_TIMEOUT) -> dict:
    """The app's /health/ through the instance's public endpoint, once it answers 200."""
    def answer() -> tuple[int, dict | None]:
        response = requests.get(web.url("/health/"), timeout=5)
        return response.status_code, response.json() if response.status_code == 200 else None

    try:
        status, health = wait_until(answer, timeout, 0.5, done=lambda reply: reply[0] == 200,
                                    retry_on=(requests.RequestException, ValueError))
        if status == 200:
            return health
        problem = f"HTTP {status}"
    except (requests.RequestException, ValueError) as exc:
        problem = str(exc)
    raise WorkshopError(f"{web.name} did not answer /health/ within {timeout:.0f}s ({problem}); "
                        f"see /var/log/apache2/newsroom-error.log on it (workshop ssh {web.name})")
