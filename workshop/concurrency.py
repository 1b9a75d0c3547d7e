"""Work on several machines at once. The stack's machines are independent: waiting on
one (a boot, a pip install, an Apache restart) should not hold the others up.

Example::

    on_each(["web1", "web2"], lambda name: deploy_release_web_server(lab, name, progress))
    # -> {'web1': <Instance web1 ...>, 'web2': <Instance web2 ...>}

    with Ahead() as ahead:                  # work started now, waited for where it is needed
        ahead.start("media1", lambda: deploy_media_server(lab, "media1"))
        ...                                 # other work meanwhile
        ahead.wait("media1")                # its result; its failure raised here
"""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def on_each(names: Iterable[str], action: Callable[[str], T]) -> dict[str, T]:
    """`action(name)` for every name at once, one thread each; {name: result} in the
    order given. Every action runs to its end; then the first failure, in that order,
    is raised as it was, with a note naming the other machines that failed.

    >>> on_each(["web1", "web2"], str.upper)
    {'web1': 'WEB1', 'web2': 'WEB2'}
    """
    names = list(names)
    if len(names) < 2:
        return {name: action(name) for name in names}
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="workshop") as pool:
        futures = {name: pool.submit(contextvars.copy_context().run, action, name) for name in names}
    return _results(futures)


def _results(futures: dict[str, Future]) -> dict:
    """{name: result} of finished futures; the first failure raised, the others noted on it."""
    results, failures = {}, []
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            results[name] = future.result()
        else:
            failures.append((name, error))
    if failures:
        first = failures[0][1]
        for name, error in failures[1:]:
            first.add_note(f"{name} failed too: {error}")
        raise first
    return results


class Ahead:
    """Work started early, each piece in a thread of its own, and waited for by name
    where it is needed: a machine no earlier step depends on is deployed while the
    steps before it run. Leaving the `with` block waits for everything still running
    (no work outlives it); a failure is raised by the wait that collects it, as it
    was, with the other failures noted on it (see on_each).

    >>> with Ahead() as ahead:
    ...     ahead.start("web2", str.upper, "web2")
    ...     ahead.wait("web2")
    {'web2': 'WEB2'}
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(thread_name_prefix="workshop-ahead")
        self._futures: dict[str, Future] = {}

    def start(self, name: str, action: Callable[..., T], *args) -> None:
        """Run `action(*args)` from now on, under `name` (a machine, or several: "cache1, cache2")."""
        if name in self._futures:
            raise ValueError(f"{name} is started already")
        self._futures[name] = self._pool.submit(contextvars.copy_context().run, action, *args)

    def started(self, name: str) -> bool:
        return name in self._futures

    def wait(self, *names: str) -> dict:
        """Wait for the work started under `names` (every piece started so far when none
        are given; names never started are ignored); {name: result}."""
        chosen = {name: future for name, future in self._futures.items() if not names or name in names}
        wait(chosen.values())
        return _results(chosen)

    def __enter__(self) -> "Ahead":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if error is None:
                self.wait()
            else:  # the block's own error comes first; the work still running is let finish
                wait(self._futures.values())
        finally:
            self._pool.shutdown()
