"""pgpool's own view of its database servers (`SHOW pool_nodes`): up or down, primary or
standby, how many reads it sent each, how far each standby's replay trails. One command
and one parser for the deploys, the checks and the fault battery, which read it alike.

Example::

    parse_pool_nodes(csv_text, {"10.213.7.41": "db1"})["db1"]["status"]   # 'up'
"""

from __future__ import annotations

import csv
import io

#: The app's password for logins through pgpool by the course's probes, left on the pgpool
#: machine by its deploy: psql reads it there, never from its command line.
PROBE_PGPASS = "/root/.workshop-newsroom.pgpass"
PORT, USER, DATABASE = 5432, "newsroom", "newsroom"
SHOW_POOL_NODES = (f"PGPASSFILE={PROBE_PGPASS} PGCONNECT_TIMEOUT=5 psql -X -w --csv -h 127.0.0.1 -p {PORT} "
                   f"-U {USER} -d {DATABASE} -c 'SHOW pool_nodes'")


def parse_pool_nodes(text: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """SHOW pool_nodes as psql --csv prints it, keyed by server name (`names`: address -> name;
    an address not in it keys its own row)."""
    return {names.get(row["hostname"], row["hostname"]): row for row in csv.DictReader(io.StringIO(text))}
