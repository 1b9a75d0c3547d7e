"""The example app on a web instance: layout, packages, code, settings, manage.py.

Layout on every web server (chapter 04 adds releases/ and makes current a symlink):

    /srv/newsroom/venv         the project's virtualenv (from the wheelhouse)
    /srv/newsroom/wheelhouse   wheels pushed from the host
    /srv/newsroom/current      the code Apache runs
    /srv/newsroom/static       collectstatic output
    /srv/newsroom/media        uploads, until media moves to shared storage
    /srv/newsroom/data         the SQLite file of chapter 02
    /etc/newsroom/env          the settings, as environment variables
    /etc/newsroom/cache_settings.py   CACHES, from chapter 06 on (exercise 06a)
"""

from __future__ import annotations

import hashlib
import io
import shlex
import tarfile
from pathlib import Path

from ..lab import Instance, Lab
from ..progress import Progress
from .config_file import ConfigFile
from ..secrets import stack_secret
from ..topology import PLAN
from .wheelhouse import build_wheelhouse, requirements_digest, wheelhouse_archive

APP_ROOT = "/srv/newsroom"
VENV = f"{APP_ROOT}/venv"
WHEELHOUSE = f"{APP_ROOT}/wheelhouse"
CURRENT = f"{APP_ROOT}/current"
STATIC_ROOT = f"{APP_ROOT}/static"
MEDIA_ROOT = f"{APP_ROOT}/media"
DATA_DIR = f"{APP_ROOT}/data"
ENV_FILE = "/etc/newsroom/env"
APACHE_ENV_DROPIN = "/etc/systemd/system/apache2.service.d/newsroom-env.conf"
SQLITE_URL = f"sqlite:///{DATA_DIR}/db.sqlite3"
CACHE_SETTINGS_PATH = "/etc/newsroom/cache_settings.py"

SOURCE = Path(__file__).resolve().parents[2] / "exampleapp"
_SKIP = {"__pycache__", "db.sqlite3", "media", "staticfiles", ".gitignore", "README.md"}


class ConnectionHost:
    """A Fabric Connection seen through the interface of lab.Instance (run, put_bytes,
    name), so a fabfile task can call the same deploy steps as notebook cells."""

    def __init__(self, connection):
        self.connection = connection
        self.name = connection.original_host

    def run(self, command: str, *, readonly: bool = False, check: bool = True, timeout: float = 300):
        return self.connection.run(command, hide=True, warn=not check, timeout=timeout, in_stream=False)

    def put_bytes(self, path: str, data: bytes, mode: str = "644", owner: str = "root:root") -> None:
        staging = f"/tmp/.workshop-upload-{hashlib.sha256(data).hexdigest()[:16]}"
        self.connection.put(io.BytesIO(data), staging)
        user, group = owner.split(":")
        self.run(f"install -D -m {mode} -o {user} -g {group} {staging} {path} && rm -f {staging}")


def source_archive(label: str = "") -> tuple[str, bytes]:
    """(release id, tar of exampleapp). The id is a digest of the code, so the same
    code always makes the same release and a repeated deploy changes nothing. A `label`
    (written to LABEL in the release) makes another release of the same code, as a change
    to it would: exercise 04 deploys one to have a release to roll back from."""
    files = sorted(p for p in SOURCE.rglob("*") if p.is_file() and not _SKIP & set(p.relative_to(SOURCE).parts)
                   and p.suffix != ".pyc")
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(SOURCE)).encode() + b"\0" + path.read_bytes())
    if label:
        digest.update(b"LABEL\0" + label.encode())
    release_id = digest.hexdigest()[:12]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in files:
            archive.add(path, arcname=str(path.relative_to(SOURCE)), filter=_normalise)
        _add_bytes(archive, "RELEASE", release_id.encode() + b"\n")
        if label:
            _add_bytes(archive, "LABEL", label.encode() + b"\n")
    return release_id, buffer.getvalue()


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _normalise(tarfile.TarInfo(name))
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def prepare_layout(web: Instance) -> None:
    web.run(f"install -d -m 755 {APP_ROOT} /etc/newsroom && "
            f"install -d -m 755 -o www-data -g www-data {STATIC_ROOT} {MEDIA_ROOT} {DATA_DIR}")


def push_wheelhouse(web: Instance, progress: Progress) -> None:
    """Copy the host's wheelhouse to the instance, unless it already has this one."""
    digest = requirements_digest()
    have = web.run(f"cat {WHEELHOUSE}/.digest 2>/dev/null", readonly=True, check=False).stdout.strip()
    if have == digest:
        return
    folder = build_wheelhouse(progress)
    progress.say(web.name, "pushing the wheelhouse")
    web.put_bytes("/tmp/wheelhouse.tar", wheelhouse_archive(folder))
    web.run(f"rm -rf {WHEELHOUSE} && install -d {WHEELHOUSE} && tar -xf /tmp/wheelhouse.tar -C {WHEELHOUSE} "
            f"&& rm /tmp/wheelhouse.tar && echo {digest} > {WHEELHOUSE}/.digest")


def install_virtualenv(web: Instance, progress: Progress) -> None:
    """The project's virtualenv, installed from the wheelhouse only (--no-index)."""
    digest = requirements_digest()
    have = web.run(f"cat {VENV}/.requirements-digest 2>/dev/null", readonly=True, check=False).stdout.strip()
    if have == digest:
        return
    progress.say(web.name, "installing the app's packages into its virtualenv (offline)")
    web.run(f"test -x {VENV}/bin/python || python3 -m venv {VENV}")
    web.run(f"{VENV}/bin/pip install --quiet --disable-pip-version-check --no-index --find-links {WHEELHOUSE} "
            f"--requirement {WHEELHOUSE}/requirements.txt && echo {digest} > {VENV}/.requirements-digest",
            timeout=300)


def install_code_in_place(web: Instance, progress: Progress) -> str:
    """Chapter 02's simple deploy: unpack the code into current/ (a plain directory)."""
    release_id, archive = source_archive()
    progress.say(web.name, f"installing release {release_id} in place at {CURRENT}")
    web.put_bytes("/tmp/newsroom.tar.gz", archive)
    web.run(f"rm -rf {CURRENT} && install -d {CURRENT} && tar -xzf /tmp/newsroom.tar.gz -C {CURRENT} "
            f"&& rm /tmp/newsroom.tar.gz")
    return release_id


def allowed_hosts(lab: Lab) -> list[str]:
    """Names and private addresses the app answers to: itself, the LB and the cache in front."""
    subnet_prefix = lab.stack.network["subnet"].rsplit(".", 1)[0]
    front = [spec for spec in PLAN.values() if spec.role in ("web", "lb", "varnish")]
    return ["127.0.0.1", "localhost"] + [s.name for s in front] + [f"{subnet_prefix}.{s.host_number}" for s in front]


def app_environment(lab: Lab, database_url: str = SQLITE_URL, storage: dict[str, str] | None = None) -> dict[str, str]:
    """The app's settings for this stack (see exampleapp/newsroom/settings.py)."""
    env = {
        "DJANGO_SECRET_KEY": stack_secret(lab.stack, "django-secret-key", 50),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": ",".join(allowed_hosts(lab)),
        "DATABASE_URL": database_url,
        # No file there (before chapter 06): no cache.
        "CACHE_SETTINGS": CACHE_SETTINGS_PATH,
        "STATIC_ROOT": STATIC_ROOT,
        "MEDIA_ROOT": MEDIA_ROOT,
        "STORAGE_BACKEND": "local",
    }
    env.update(storage or {})
    return env


def _environment_files(env: dict[str, str]) -> tuple[str, str]:
    """(settings file, Apache's systemd drop-in) for `env`."""
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items())), \
        f"[Service]\nEnvironmentFile={ENV_FILE}\n"


def environment_in_place(web: Instance, env: dict[str, str]) -> bool:
    """Whether `web` has exactly these settings already."""
    text, dropin = _environment_files(env)
    return web.run(f"cat {ENV_FILE} {APACHE_ENV_DROPIN} 2>/dev/null", readonly=True, check=False).stdout == text + dropin


def write_environment(web: Instance, env: dict[str, str]) -> bool:
    """Write the settings file and Apache's systemd drop-in; True when something changed
    (Apache must then restart: a graceful reload does not re-read its environment)."""
    if environment_in_place(web, env):
        return False
    text, dropin = _environment_files(env)
    web.put_text(ENV_FILE, text, mode="640", owner="root:www-data")
    web.put_text(APACHE_ENV_DROPIN, dropin)
    web.run("systemctl daemon-reload")
    return True


def manage_command(command: str, app_dir: str = CURRENT) -> str:
    """The shell command that runs `manage.py command` as www-data with the app's settings."""
    return (f"cd {app_dir} && set -a && . {ENV_FILE} && set +a && "
            f"runuser -u www-data -- {VENV}/bin/python manage.py {command}")


def manage(web: Instance, command: str, app_dir: str = CURRENT, timeout: float = 300):
    """Run `manage.py command` as www-data with the app's settings."""
    return web.run(manage_command(command, app_dir), timeout=timeout)


#: The app's cache settings (exercise 06a), judged with the live release before Apache's daemons
#: reload and read them: Django's own checks (which load every cache's BACKEND), then one lookup
#: in each cache (which builds its client from OPTIONS and reaches its servers).
CACHE_LOOKUP = "from django.core.cache import caches; [caches[alias].get('workshop-check') for alias in caches]"
CACHE_SETTINGS = ConfigFile(CACHE_SETTINGS_PATH,
                            check=f"{manage_command('check')} && {manage_command('shell -c ' + shlex.quote(CACHE_LOOKUP))}",
                            rejected="the app cannot use these cache settings (manage.py check, then a cache lookup)",
                            mode="640", owner="root:www-data", service="apache2")


def migrate_and_collect(web: Instance, progress: Progress, app_dir: str = CURRENT) -> None:
    progress.say(web.name, "migrate, collectstatic, seed articles")
    manage(web, "migrate --noinput", app_dir)
    manage(web, "collectstatic --noinput --verbosity 0", app_dir)
    manage(web, "seed_articles", app_dir)
