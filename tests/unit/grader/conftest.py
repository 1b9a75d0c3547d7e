"""Every test here grades a scripted stack (see kit.py)."""

import pytest

from .kit import FakeTarget


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()
