"""Is a stack reachable at all? One bounded look at each machine's SSH endpoint.

Class-wide operations (status, grading, the live view) ask this first, so a
stack that is down costs seconds and gives one clear answer, "stack
unreachable", instead of every check timing out on its own.

Example::

    unreachable(stack) is None
    # -> True
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from ..stack import Stack

TIMEOUT = 5


def ssh_answers(host: str, port: int, timeout: float = TIMEOUT) -> str | None:
    """None if an SSH server greets us at host:port within `timeout`, else what went wrong."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            banner = sock.recv(64)
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None if banner.startswith(b"SSH-") else "no SSH greeting"


def unreachable(stack: Stack, timeout: float = TIMEOUT) -> str | None:
    """None when at least one machine of `stack` answers SSH; else what each one said (shown
    beside "stack unreachable"). A stack with some machines down is reachable: its checks say which."""
    records = [record for record in stack.instances.values() if "22" in record.ports]
    if not records:
        return f"stack {stack.name} has no machine yet"
    with ThreadPoolExecutor(max_workers=min(len(records), 8)) as pool:
        problems = list(pool.map(lambda r: ssh_answers(r.public_host, r.public_port(22), timeout), records))
    if any(problem is None for problem in problems):
        return None
    return "no machine answers SSH: " + "; ".join(
        f"{record.name} ({record.public_host}:{record.public_port(22)}) {problem}"
        for record, problem in zip(records, problems))
