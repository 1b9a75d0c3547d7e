"""Waiting for a machine, a service or a replica to get somewhere: one rule for every
deadline in the package and the grader (try, pause `interval` seconds, try again; no
attempt starts once `timeout` seconds have passed), so no loop gets its own variant.

Example::

    wait_until(lambda: is_primary(db2), timeout=30, interval=0.5)     # True, or the last answer
"""

from __future__ import annotations

from typing import Callable, TypeVar

from tenacity import Retrying, retry_if_exception_type, retry_if_result, stop_before_delay, wait_fixed

T = TypeVar("T")


def wait_until(attempt: Callable[[], T], timeout: float, interval: float, *, done: Callable[[T], bool] = bool,
               retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """Call `attempt()` until `done` holds for what it returned, and return that.

    When the time is up, return the last value (the caller says what was wrong with
    it, in its own words) or, if the last attempt raised one of `retry_on`, raise that
    exception again. Any other exception ends the wait at once.
    """
    retrying = Retrying(stop=stop_before_delay(timeout), wait=wait_fixed(interval),
                        retry=retry_if_exception_type(retry_on) | retry_if_result(lambda value: not done(value)),
                        retry_error_callback=lambda state: state.outcome.result())
    return retrying(attempt)


def no_error(_value: object) -> bool:
    """`done` for an attempt that has succeeded when it returns without raising."""
    return True
