"""Real stacks for end-to-end tests: uniquely named, always torn down, verified empty.

A machine may still hold containers from an earlier run: every name here
carries a random suffix, and teardown removes only what carries this
stack's label.
"""

from __future__ import annotations

import os
import uuid

import pytest

from workshop.engine import find_engine
from workshop.image import ensure_image
from workshop.lab import Lab
from workshop.providers import get_provider
from workshop.stack import load_named


@pytest.fixture(scope="session")
def workshop_home(tmp_path_factory):
    """Stacks' keys and descriptors live in a scratch WORKSHOP_HOME, seen by kernels too."""
    home = tmp_path_factory.mktemp("workshop-home")
    previous = os.environ.get("WORKSHOP_HOME")
    os.environ["WORKSHOP_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("WORKSHOP_HOME", None)
    else:
        os.environ["WORKSHOP_HOME"] = previous


@pytest.fixture(scope="session")
def workshop_image():
    """Build the image once per run if its definition changed (cached otherwise)."""
    return ensure_image(find_engine())


def unique_stack_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def tear_down(name: str) -> None:
    """Remove the stack `name` whatever state it is in, then prove nothing is left."""
    stack = load_named(name)
    if stack is None:
        return
    provider = get_provider(stack.provider)
    try:
        Lab(stack, provider, stack.folder).down()
    finally:
        assert provider.leftovers(stack) == [], f"stack {name} left resources behind"
        assert not stack.folder.exists(), f"stack {name} left its key folder {stack.folder}"


@pytest.fixture(scope="module")
def stack_name(workshop_home, workshop_image):
    """A unique stack name for this test module, exported as WORKSHOP_STACK; torn down after it."""
    name = unique_stack_name("e2e")
    os.environ["WORKSHOP_STACK"] = name
    yield name
    os.environ.pop("WORKSHOP_STACK", None)
    tear_down(name)
