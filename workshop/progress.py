"""Progress lines for long work (image build, stack up, teardown).

Plain flushed prints: they show live in a terminal and in a notebook cell.
"""

import sys
import time


class Progress:
    """Prints '[  3.2s] subject: message' lines timed from its creation.

    >>> progress = Progress("stack lab")
    >>> progress.say("web1", "booting")  # doctest: +ELLIPSIS
    [...s] web1: booting
    """

    def __init__(self, title: str, quiet: bool = False, stream=None):
        self.title = title
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, subject: str, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed:6.1f}s] {subject}: {message}", file=self.stream, flush=True)

    def done(self, message: str = "done") -> None:
        self.say(self.title, f"{message} in {self.elapsed:.1f}s")
