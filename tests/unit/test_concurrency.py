"""on_each runs every machine's action to its end, at once, and reports failures by machine."""

import threading

import pytest

from workshop.concurrency import on_each
from workshop.errors import WorkshopError


def test_the_actions_run_at_the_same_time():
    """Each action waits for all the others to have started: only concurrent runs get through."""
    everyone = threading.Barrier(3, timeout=5)
    assert on_each(["web1", "web2", "cache1"], lambda name: everyone.wait() is not None and name) == \
        {"web1": "web1", "web2": "web2", "cache1": "cache1"}


def test_the_first_failure_is_raised_after_every_action_ran_with_the_others_noted():
    finished = []

    def deploy(name: str) -> str:
        finished.append(name)
        if name != "web2":
            raise WorkshopError(f"{name} did not answer /health/")
        return name

    with pytest.raises(WorkshopError, match="^web1 did not answer") as failure:
        on_each(["web1", "web2", "cache1"], deploy)
    assert sorted(finished) == ["cache1", "web1", "web2"]
    assert failure.value.__notes__ == ["cache1 failed too: cache1 did not answer /health/"]
