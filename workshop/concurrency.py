"""Work on several machines at once. The stack's machines are independent: waiting on
one (a boot, a pip install, an Apache restart) should not hold the others up.

Example::

    on_each(["web1", "web2"], lambda name: deploy_release_web_server(lab, name, progress))
    # -> {'web1': <Instance web1 ...>, 'web2': <Instance web2 ...>}
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
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
