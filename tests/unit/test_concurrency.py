"""on_each runs every machine's action to its end, at once, and reports failures by machine;
Ahead runs work while its caller goes on, and reports it where it is waited for."""

import threading
import time

import pytest

from workshop.concurrency import Ahead, on_each
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


def test_work_ahead_runs_while_the_caller_goes_on_and_is_collected_by_name():
    started = threading.Event()
    release = threading.Event()

    def deploy(name: str) -> str:
        started.set()
        assert release.wait(timeout=5)
        return name.upper()

    with Ahead() as ahead:
        ahead.start("media1", deploy, "media1")
        assert started.wait(timeout=5) and ahead.started("media1") and not ahead.started("db2")
        release.set()  # the caller got here while media1's work was still running
        assert ahead.wait("media1", "db2") == {"media1": "MEDIA1"}


def test_a_failure_ahead_is_raised_where_it_is_waited_for_with_the_others_noted():
    def fail(name: str) -> None:
        raise WorkshopError(f"{name} did not answer")

    with pytest.raises(WorkshopError, match="^db1 did not answer") as failure:
        with Ahead() as ahead:
            ahead.start("db1", fail, "db1")
            ahead.start("media1", fail, "media1")
            ahead.start("cache1", str.upper, "cache1")
            ahead.wait()
    assert failure.value.__notes__ == ["media1 failed too: media1 did not answer"]


def test_leaving_the_block_waits_for_the_work_still_running():
    finished = []
    with Ahead() as ahead:
        ahead.start("varnish1", lambda: time.sleep(0.2) or finished.append("varnish1"))
    assert finished == ["varnish1"]
