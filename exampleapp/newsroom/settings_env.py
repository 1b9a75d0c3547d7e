"""Pure functions turning an environment mapping into Django settings values.

They take the mapping as an argument (instead of reading ``os.environ``) so the
tests can exercise every branch without reloading the settings module.
"""

import runpy
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# Only ever used with DJANGO_DEBUG=1, so a leaked copy can't sign real sessions.
INSECURE_DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"

TRUE_VALUES = {"1", "true", "yes", "on"}


def env_bool(environ, name, default=False):
    """Read a boolean flag: 1/true/yes/on (any case) is true, anything else false."""
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_VALUES


def env_list(environ, name, default=""):
    """Read a comma-separated list, dropping blanks and surrounding spaces."""
    return [item.strip() for item in environ.get(name, default).split(",") if item.strip()]


def secret_key(environ, debug):
    """Return DJANGO_SECRET_KEY; refuse to start without one unless debugging."""
    key = environ.get("DJANGO_SECRET_KEY", "").strip()
    if key:
        return key
    if debug:
        return INSECURE_DEV_SECRET_KEY
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it to a long random string in "
        "production, or set DJANGO_DEBUG=1 for local development."
    )


def databases(environ, base_dir):
    """Build DATABASES from DATABASE_URL (SQLite in BASE_DIR when unset)."""
    default_url = f"sqlite:///{Path(base_dir) / 'db.sqlite3'}"
    url = environ.get("DATABASE_URL", "").strip() or default_url
    conn_max_age = int(environ.get("DATABASE_CONN_MAX_AGE", "0") or 0)
    # Health checks make persistent connections survive a database failover:
    # a connection to the old primary is dropped before it is reused.
    return {
        "default": dj_database_url.parse(
            url, conn_max_age=conn_max_age, conn_health_checks=conn_max_age > 0
        )
    }


def caches(environ):
    """CACHES from the Python file CACHE_SETTINGS names (the operator writes it: exercise 06a),
    else cache nothing.

    No cache until the stack has cache servers (chapter 06): each stage's load
    test then measures what that stage's machines provide. A file that defines no
    CACHES stops the app with the reason: a typo never runs the site uncached unnoticed.
    """
    path = environ.get("CACHE_SETTINGS", "").strip()
    if not path or not Path(path).is_file():
        return {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    found = runpy.run_path(path).get("CACHES")
    if not isinstance(found, dict) or "default" not in found:
        raise ImproperlyConfigured(f"{path} must set CACHES, a dict with a 'default' cache.")
    return found


def storages(environ):
    """Build STORAGES: local files under MEDIA_ROOT, or an S3 bucket shared by all servers."""
    staticfiles = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    backend = environ.get("STORAGE_BACKEND", "local").strip().lower() or "local"
    if backend == "local":
        default = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    elif backend == "s3":
        default = {"BACKEND": "newsroom.media_storage.SiteMediaStorage", "OPTIONS": s3_options(environ)}
    else:
        raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}.")
    return {"default": default, "staticfiles": staticfiles}


def s3_options(environ):
    """Options for django-storages' S3Storage; unset variables keep its defaults."""
    bucket = environ.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    endpoint = environ.get("AWS_S3_ENDPOINT_URL", "").strip()
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": environ.get("AWS_S3_REGION_NAME", "").strip(),
        "access_key": environ.get("AWS_ACCESS_KEY_ID", "").strip(),
        "secret_key": environ.get("AWS_SECRET_ACCESS_KEY", "").strip(),
        # Plain, stable media URLs that an upstream cache can store.
        "querystring_auth": False,
        # Two servers uploading "photo.jpg" must not overwrite each other.
        "file_overwrite": False,
        # S3-compatible servers (MinIO etc.) rarely have per-bucket DNS names.
        "addressing_style": "path" if endpoint else "",
    }
    return {name: value for name, value in options.items() if value != ""}


def release_id(environ, base_dir):
    """RELEASE_ID, else the RELEASE file written by the deploy, else 'dev'."""
    value = environ.get("RELEASE_ID", "").strip()
    if value:
        return value
    release_file = Path(base_dir) / "RELEASE"
    if release_file.is_file():
        return release_file.read_text().strip() or "dev"
    return "dev"
