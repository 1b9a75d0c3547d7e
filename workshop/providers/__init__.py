"""Providers host a stack's machines: `local` (systemd containers, the default) or `ec2` (AWS)."""

from __future__ import annotations

import os

from ..errors import WorkshopError
from .base import MISSING, RUNNING, STOPPED, Provider
from .ec2 import EC2Provider
from .local import LocalProvider

PROVIDERS = {"local": LocalProvider, "ec2": EC2Provider}
DEFAULT_PROVIDER = "local"

__all__ = ["MISSING", "RUNNING", "STOPPED", "Provider", "get_provider", "provider_name"]


def provider_name() -> str:
    """The provider chosen for new stacks: $WORKSHOP_PROVIDER, else local."""
    return os.environ.get("WORKSHOP_PROVIDER") or DEFAULT_PROVIDER


def get_provider(name: str | None = None) -> Provider:
    name = name or provider_name()
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise WorkshopError(
            f"Unknown provider {name!r} (WORKSHOP_PROVIDER); available here: {', '.join(PROVIDERS)}"
        ) from None
