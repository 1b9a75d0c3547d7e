"""Talking to the deployed app through an instance's public endpoint, as a user would.

Example::

    create_marker(web1, "before-restart")
"""

from __future__ import annotations

import requests

from . import grading
from .lab import Instance


def health(instance: Instance, port: int = 80) -> dict:
    """The app's /health/ JSON as served through `instance`."""
    response = requests.get(instance.url("/health/", port), timeout=10)
    response.raise_for_status()
    return response.json()


@grading.changes("create marker {value!r}")
def create_marker(instance: Instance, value: str) -> int | None:
    """Write a marker row through the app (POST /api/markers/); returns its id.
    An existing marker is kept (HTTP 409). Skipped while grading."""
    response = requests.post(instance.url("/api/markers/"), data={"value": value}, timeout=10)
    if response.status_code == 409:
        return None
    response.raise_for_status()
    return response.json()["id"]
