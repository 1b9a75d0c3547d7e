"""pgpool's own view of its database servers: up or down, primary or standby, how many reads
it sent each, how far each standby's replay trails. Two ways to ask, each with its parser,
shared by the deploys, the checks and the fault battery:

- `SHOW pool_nodes`, through pgpool as the app's user (select_cnt, replication_delay): only
  while pgpool accepts sessions, that is while it has a primary up;
- `pcp_node_info` on pgpool's admin port: always, even with every server marked down.

Example::

    parse_pool_nodes(csv_text, {"10.213.7.41": "db1"})["db1"]["status"]     # 'up'
    parse_pcp_nodes(verbose_text, {"10.213.7.41": "db1"})["db1"]["status"]  # 'down'
"""

from __future__ import annotations

import csv
import io

#: The app's password for logins through pgpool by the course's probes, left on the pgpool
#: machine by its deploy: psql reads it there, never from its command line.
PROBE_PGPASS = "/root/.workshop-newsroom.pgpass"
PORT, USER, DATABASE = 5432, "newsroom", "newsroom"
PCP_PORT, PCP_USER = 9898, "pcpadmin"
#: pcp reads its password from root's ~/.pcppass on the pgpool machine, left there by its deploy.
PCP_NODES = f"pcp_node_info -w -h localhost -p {PCP_PORT} -U {PCP_USER} --all --verbose"
SHOW_POOL_NODES = (f"PGPASSFILE={PROBE_PGPASS} PGCONNECT_TIMEOUT=5 psql -X -w --csv -h 127.0.0.1 -p {PORT} "
                   f"-U {USER} -d {DATABASE} -c 'SHOW pool_nodes'")


def parse_pool_nodes(text: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """SHOW pool_nodes as psql --csv prints it, keyed by server name (`names`: address -> name;
    an address not in it keys its own row)."""
    return {names.get(row["hostname"], row["hostname"]): row for row in csv.DictReader(io.StringIO(text))}


def parse_pcp_nodes(text: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """`pcp_node_info --all --verbose` (blocks of "Key : value" lines, one per node, in node
    order), keyed by server name, with SHOW pool_nodes' column names: node_id, hostname,
    status (up, waiting, down), role (primary, standby), ..."""
    nodes: list[dict[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower().replace(" ", "_")
        if key == "hostname":
            nodes.append({"node_id": str(len(nodes))})
        if nodes:
            nodes[-1]["status" if key == "status_name" else key] = value.strip()
    return {names.get(node.get("hostname", ""), node.get("hostname", "")): node for node in nodes}
