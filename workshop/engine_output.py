"""Reading what podman and docker print, whichever of the two printed it.

The two CLIs agree on commands but not on output: `--format '{{json .}}'`
gives a JSON array on podman 4.3 and one object per line on docker (and on
newer podman); docker 20.10 has no `--format json` at all (it prints the word
"json" per row); listings say `Names` (podman, a list; docker, a string) or
`Name` (docker networks) or `name` (podman networks); docker's labels are one
"k=v,k=v" string; a network's subnets sit under `subnets` (podman) or
`IPAM.Config` (docker). Every reader of engine output goes through here.

>>> records('{"Name":"ws-a"}\\n{"Name":"ws-b"}\\n')
[{'Name': 'ws-a'}, {'Name': 'ws-b'}]
"""

from __future__ import annotations

import json

from .errors import EngineError


def records(text: str) -> list[dict]:
    """The objects in `text`: a JSON array, a single object, or one object per line."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise EngineError(f"The container engine printed something that is not JSON ({exc}): {text[:200]!r}") from exc
    return data if isinstance(data, list) else [data]


def name(record: dict) -> str:
    """The object's name (the first one, for a container with several)."""
    value = record.get("Names") or record.get("Name") or record.get("name") or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.split(",")[0].lstrip("/")


def labels(record: dict) -> dict[str, str]:
    """The object's labels, from a dict (podman, any inspect) or a "k=v,k=v" string (docker listings)."""
    value = record.get("Labels", record.get("labels"))
    if value is None and isinstance(record.get("Config"), dict):
        value = record["Config"].get("Labels")
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    return dict(pair.partition("=")[::2] for pair in value.split(",") if pair)


def is_running(record: dict) -> bool:
    """Whether a container listed or inspected is running (`State` is a word, or a dict in inspect)."""
    state = record.get("State", "")
    if isinstance(state, dict):
        return bool(state.get("Running"))
    return str(state).lower() == "running"


def subnets(network: dict) -> list[str]:
    """The CIDRs of an inspected network."""
    podman = [entry["subnet"] for entry in network.get("subnets") or []]
    docker = [entry["Subnet"] for entry in (network.get("IPAM") or {}).get("Config") or [] if "Subnet" in entry]
    return podman + docker


def published_ports(text: str) -> dict[str, int]:
    """`port CONTAINER` output ("22/tcp -> 127.0.0.1:45131", the same on both) as {"22": 45131}."""
    ports = {}
    for line in text.splitlines():
        inside, _, outside = line.partition(" -> ")
        if outside:
            ports[inside.split("/")[0].strip()] = int(outside.rsplit(":", 1)[1])
    return ports
