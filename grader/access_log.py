"""The servers' own account of a recorded run: the lines of Apache's and nginx's access
logs (both in the `combined` format) whose User-Agent is the run's.

A record file beside the notebook can be edited; these lines are written by the
stack's servers as the run's requests arrive, so checks believe their counts over the
file's. Example::

    seen = Logged.parse(text, "workshop-loadtest/02-baseline run/0123...")
    seen.requests, seen.failed, seen.span_s
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_QUOTED = r'"(?:[^"\\]|\\.)*"'
#: `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`: Apache's and nginx's `combined`.
COMBINED = re.compile(rf'\[(?P<at>[^\]]+)\] {_QUOTED} (?P<status>\d{{3}}) \S+ {_QUOTED} "(?P<agent>(?:[^"\\]|\\.)*)"')
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


@dataclass(frozen=True)
class Request:
    """One logged request: when it arrived (epoch s, whole seconds), its status, its User-Agent."""

    at: float
    status: int
    agent: str


@dataclass(frozen=True)
class Logged:
    """The requests of one run, in the order the log has them."""

    lines: tuple[Request, ...]

    @classmethod
    def parse(cls, text: str, agent: str, prefix: bool = False) -> "Logged":
        """The lines of `text` whose User-Agent is `agent` (or starts with it, if `prefix`)."""
        found = []
        for match in map(COMBINED.search, text.splitlines()):
            if match and (match["agent"].startswith(agent) if prefix else match["agent"] == agent):
                at = datetime.strptime(match["at"], TIME_FORMAT).timestamp()
                found.append(Request(at, int(match["status"]), match["agent"]))
        return cls(tuple(found))

    @property
    def requests(self) -> int:
        return len(self.lines)

    def failed(self, ok: tuple[int, ...] | None = None) -> int:
        """Requests answered with an error: not one of `ok`, or (by default) not 2xx or 3xx."""
        return sum(1 for line in self.lines if (line.status not in ok if ok else not 200 <= line.status < 400))

    @property
    def span_s(self) -> float:
        """Seconds from the first request's arrival to the last's (the log counts whole seconds)."""
        return max(line.at for line in self.lines) - min(line.at for line in self.lines) if self.lines else 0.0
