"""pgpool.conf as pgpool reads it, and its database servers' lines (`backend_hostname0 = ...`):
one parser for the deploy that installs a student's backend lines and the check that grades them.

Example::

    nodes = backend_nodes("backend_hostname0 = '10.213.7.41'\\nbackend_port0 = 5432\\n...")
    nodes[0]["hostname"]     # '10.213.7.41'
"""

from __future__ import annotations

import re

from .errors import ConfigError

#: What exercise 07a asks for each server, in pgpool-II 4.3's names (backend_<field><node>).
BACKEND_FIELDS = ("hostname", "port", "weight", "data_directory", "flag", "application_name")
_BACKEND = re.compile(r"backend_(?P<field>[a-z_]+?)(?P<node>\d+)")


def parse_settings(text: str) -> dict[str, str]:
    """Every `name = value` line of `text`, the last one winning, values unquoted, comments dropped."""
    settings = {}
    for line in text.splitlines():
        key, sep, value = line.split("#", 1)[0].partition("=")
        if sep:
            settings[key.strip()] = value.strip().strip("'")
    return settings


def backend_nodes(text: str) -> dict[int, dict[str, str]]:
    """{node: {field: value}} of the backend lines in `text` (a whole pgpool.conf or just them)."""
    nodes: dict[int, dict[str, str]] = {}
    for key, value in parse_settings(text).items():
        match = _BACKEND.fullmatch(key)
        if match and match["field"] in BACKEND_FIELDS:
            nodes.setdefault(int(match["node"]), {})[match["field"]] = value
    return dict(sorted(nodes.items()))


def require_backend_lines(text: str) -> dict[int, dict[str, str]]:
    """The nodes of `text`, which must hold backend lines only, every field for each node,
    numbered from 0 without a gap; ConfigError naming the first problem otherwise, before
    pgpool ever reads them."""
    for line in text.splitlines():
        setting = line.split("#", 1)[0].strip()
        key = setting.partition("=")[0].strip()
        if setting and ("=" not in setting or not _BACKEND.fullmatch(key)):
            raise ConfigError(f"not a backend line: {line.strip()!r} (each line is backend_FIELDN = value, "
                              f"FIELD one of {', '.join(BACKEND_FIELDS)}, N the node number)")
        if setting and _BACKEND.fullmatch(key)["field"] not in BACKEND_FIELDS:
            raise ConfigError(f"unknown backend setting {key!r}: the fields are {', '.join(BACKEND_FIELDS)}")
    nodes = backend_nodes(text)
    if not nodes:
        raise ConfigError("no backend lines: write backend_hostname0 = '...' and the other fields of node 0")
    if list(nodes) != list(range(len(nodes))):
        raise ConfigError(f"the nodes are numbered {', '.join(map(str, nodes))}: pgpool numbers them 0, 1, ... "
                          "without a gap")
    for node, fields in nodes.items():
        missing = [field for field in BACKEND_FIELDS if field not in fields]
        if missing:
            raise ConfigError(f"node {node} has no {', '.join(f'backend_{field}{node}' for field in missing)}")
    return nodes
