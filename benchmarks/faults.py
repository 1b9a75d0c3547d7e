"""The fault battery on a stack of its own (workshop/faults.py), as a table for
docs/database-tier.md: per routine operation, requests failed, seconds until the site served
again, seconds until pgpool had both database servers up, acknowledged writes lost.

Run: .venv/bin/python -m benchmarks.faults   (catches a uniquely named stack up to chapter 10,
runs the battery, removes the stack; about 5 minutes)
"""

from __future__ import annotations

import tempfile
import uuid

from workshop.catchup import catch_up
from workshop.faults import TABLE_HEADER, run_battery
from workshop.lab import open_lab


def main() -> None:
    name = f"bench-faults-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as scratch:
        lab = open_lab(name, folder=scratch)
        try:
            catch_up(lab, 10)
            results = run_battery(lab)
        finally:
            lab.down()
    print("\n" + TABLE_HEADER)
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
