"""Providers host a stack's machines: `local` (systemd containers, the default) or `ec2` (AWS)."""

from __future__ import annotations

import os

from ..errors import WorkshopError
from .base import MISSING, RUNNING, STOPPED, Provider
from .instructor_managed import CLASS_ACCOUNT, InstructorManaged
from .local import LocalProvider


def _ec2() -> Provider:
    """boto3 takes ~0.5 s to import: only stacks on EC2 pay for it (not every grading kernel)."""
    from .ec2 import EC2Provider

    return EC2Provider()


PROVIDERS = {"local": LocalProvider, "ec2": _ec2}
DEFAULT_PROVIDER = "local"

__all__ = ["MISSING", "RUNNING", "STOPPED", "Provider", "get_provider", "provider_name"]


def provider_name() -> str:
    """The provider chosen for new stacks: $WORKSHOP_PROVIDER, else local."""
    return os.environ.get("WORKSHOP_PROVIDER") or DEFAULT_PROVIDER


def get_provider(name: str | None = None) -> Provider:
    """The provider `name` (default: the one for new stacks); in a student's account on a
    classroom server, one that leaves the machines to the instructor (instructor_managed.py)."""
    name = name or provider_name()
    try:
        provider = PROVIDERS[name]
    except KeyError:
        raise WorkshopError(
            f"Unknown provider {name!r} (WORKSHOP_PROVIDER); available here: {', '.join(PROVIDERS)}"
        ) from None
    if os.environ.get(CLASS_ACCOUNT) == "1":
        return InstructorManaged(name)
    return provider()
