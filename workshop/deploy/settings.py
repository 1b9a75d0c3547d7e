"""The app's settings on the reference stack at the end of each chapter.

Some chapters add a service to the app's settings (the database, shared media,
pgpool in front of the database; chapter 06's cache servers are a settings file of
their own, workshop/deploy/memcached.py): the chapter registry names
each one's addition, a function below. Deploy steps, catch-up and tests take the
settings from here, so no chapter restates what the earlier ones configured.

Example::

    deploy_release_web_server(lab, "web1", **reference_settings(lab, 7))
"""

from __future__ import annotations

from ..chapters import chapters_through
from ..lab import Lab
from .media import storage_settings
from .pgpool import pooled
from .postgres import database_url


def reference_settings(lab: Lab, chapter: int | str) -> dict:
    """Keyword arguments for app_environment on the reference stack after `chapter`:
    what each chapter up to it adds (see `app_settings` in workshop/chapters.py)."""
    settings: dict = {}
    for entry in chapters_through(chapter):
        entry.add_app_settings(lab, settings)
    return settings


def database_on_db1(lab: Lab, settings: dict) -> None:
    """Chapter 03: the app's data in PostgreSQL on db1. Once pgpool serves the app goes
    through it whatever the chapter: the database then admits the app from pgpool only,
    and a failover may have moved the primary."""
    settings["database_url"] = database_url(lab, "pgpool1" if pooled(lab) else "db1")


def shared_media(lab: Lab, settings: dict) -> None:
    """Chapter 05: uploaded media on media1, shared by every web server."""
    settings["storage"] = storage_settings(lab)


def database_through_pgpool(lab: Lab, settings: dict) -> None:
    """Chapter 07: the database through pgpool1."""
    settings["database_url"] = database_url(lab, "pgpool1")
