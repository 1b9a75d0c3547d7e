"""Every test here grades a scripted stack (see kit.py)."""

import time

import pytest

from .kit import FakeClock, FakeTarget


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """Checks that wait (deadlines, a second for Age) run at once."""
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    return clock
