"""GET /health/: what this web server is connected to, for load balancers and course checks."""

import socket
import sys
import uuid

import django
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def health(request):
    """Report host, database, cache, storage and WSGI details; 503 if the database fails."""
    database = database_status()
    response = JsonResponse(
        {
            "host": socket.gethostname(),
            "database": database,
            "cache": cache_status(),
            "storage": {"backend": settings.STORAGES["default"]["BACKEND"]},
            "wsgi": wsgi_status(request),
            "release": settings.RELEASE_ID,
            "debug": settings.DEBUG,
            "python": sys.version.split()[0],
            "django": django.get_version(),
        },
        status=200 if database["ok"] else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


def database_status():
    """Run one query; on PostgreSQL ask whether the server answering is a standby."""
    db = connection.settings_dict
    status = {
        "vendor": connection.vendor,
        "host": db.get("HOST") or None,
        "name": str(db["NAME"]),
        "in_recovery": None,
        "ok": False,
    }
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_is_in_recovery()")
                status["in_recovery"] = cursor.fetchone()[0]
            else:
                cursor.execute("SELECT 1")
        status["ok"] = True
    except DatabaseError as exc:
        status["error"] = str(exc)
    return status


def cache_status():
    """Name the cache backend and its servers, and check a value round-trips
    (ok is None when there is no cache to check)."""
    config = settings.CACHES["default"]
    location = config.get("LOCATION") or []
    key = f"health-{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    ok = cache.get(key) == "ok"
    cache.delete(key)
    return {
        "backend": config["BACKEND"],
        "servers": [location] if isinstance(location, str) else list(location),
        "ok": None if config["BACKEND"].endswith("DummyCache") else ok,
    }


def wsgi_status(request):
    """Tell mod_wsgi daemon mode from embedded mode, or name the other server."""
    try:
        import mod_wsgi
    except ImportError:
        mod_wsgi = None
    # Only the module that mod_wsgi embeds in Apache has process_group; the
    # pip-installed mod_wsgi package imports fine outside Apache too.
    process_group = getattr(mod_wsgi, "process_group", None)
    # Which Python runs the app: a deployment should use the project's virtualenv.
    interpreter = {"python_prefix": sys.prefix, "virtualenv": sys.prefix != sys.base_prefix}
    if process_group is None:
        return {
            "server": request.META.get("SERVER_SOFTWARE", "unknown"),
            "mode": None,
            "process_group": None,
            **interpreter,
        }
    return {
        "server": "mod_wsgi",
        "mode": "daemon" if process_group != "" else "embedded",
        "process_group": process_group,
        **interpreter,
    }
