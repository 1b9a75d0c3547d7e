"""memcached's `stats` over its text protocol, read on the cache server itself.

Shared by the notebook helper (workshop.deploy.memcached) and the chapter 06
checks, which must not import deploy code: this is a client, not a deploy.
"""

from __future__ import annotations

MEMCACHED_PORT = 11211

#: The `stats` command with bash's /dev/tcp (no client to install).
STATS_COMMAND = (f"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{MEMCACHED_PORT} && "
                 "printf \"stats\\r\\nquit\\r\\n\" >&3 && cat <&3'")


def parse_stats(text: str) -> dict[str, int | str]:
    """`STAT name value` lines as a dict; numbers as int."""
    stats: dict[str, int | str] = {}
    for line in text.splitlines():
        parts = line.strip().split(" ", 2)
        if len(parts) == 3 and parts[0] == "STAT":
            stats[parts[1]] = int(parts[2]) if parts[2].isdigit() else parts[2]
    return stats
