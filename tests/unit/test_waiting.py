"""wait_until: one deadline rule for every wait, on a clock that moves only when it sleeps."""

import time

import pytest

from workshop.waiting import wait_until


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    return now


def attempts(*answers):
    """A predicate answering `answers` in turn (raising those that are exceptions), counting its calls."""
    script = list(answers)

    def attempt():
        attempt.calls += 1
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    attempt.calls = 0
    return attempt


def test_returns_the_first_value_that_is_done(clock):
    attempt = attempts(None, "", "streaming")
    assert wait_until(attempt, timeout=30, interval=0.5) == "streaming"
    assert attempt.calls == 3 and clock[0] == 1.0


def test_when_time_is_up_returns_the_last_value_and_starts_no_attempt_after_the_timeout(clock):
    attempt = attempts(*range(100))
    assert wait_until(attempt, timeout=3, interval=0.5, done=lambda count: count > 50) == 5
    assert attempt.calls == 6 and clock[0] == 2.5  # tries at 0, 0.5, ... 2.5


def test_raises_the_last_expected_exception_when_time_is_up(clock):
    attempt = attempts(*[ConnectionError(f"refused {i}") for i in range(10)])
    with pytest.raises(ConnectionError, match="refused 5"):
        wait_until(attempt, timeout=30, interval=5, retry_on=(ConnectionError,))


def test_an_unexpected_exception_ends_the_wait_at_once(clock):
    attempt = attempts(ConnectionError("refused"), KeyError("broken"), "never reached")
    with pytest.raises(KeyError):
        wait_until(attempt, timeout=30, interval=1, retry_on=(ConnectionError,))
    assert attempt.calls == 2
