"""Why a standby in recovery does not stream, in PostgreSQL's own words: its WAL receiver
logs each failed attempt (authentication, pg_hba, a missing slot). Shared by chapter 08's
streaming check and by the foundation that names a non-streaming standby as the root cause."""

from __future__ import annotations

import re

from workshop.sql import PG_LOG

from .target import Target

#: What a standby's WAL receiver logs when it cannot stream (PostgreSQL's words).
_RECEIVER = re.compile(r"could not connect to the primary server.*|could not start WAL streaming.*"
                       r"|replication slot \S+ does not exist.*")
#: What PostgreSQL logs first at each start.
_STARTED = "starting PostgreSQL"
RECEIVER_FIXES = {
    "password": "The password in the standby's primary_conninfo (or the postgres user's ~/.pgpass on it) is not "
                "the replication user's: fix it there and reload (SELECT pg_reload_conf())",
    "pg_hba": "The primary's pg_hba.conf has no replication line for the standby's address: add "
              "`host replication replicator STANDBY_IP/32 scram-sha-256` and reload",
    "slot": "The primary has no replication slot of that name: create it (pg_create_physical_replication_slot) "
            "or fix primary_slot_name",
}
RECEIVER_FIX = "Fix what the log names in the standby's primary_conninfo, or on the primary (pg_hba.conf, slots)"


def receiver_error(target: Target, standby: str) -> str | None:
    """The standby's last WAL receiver error in its PostgreSQL log since the server last started
    (an error from before then says nothing of the configuration it runs now), or None."""
    lines = target.ssh(standby, f"tail -n 400 {PG_LOG} 2>/dev/null || true").stdout.splitlines()
    starts = [index for index, line in enumerate(lines) if _STARTED in line]
    found = [match[0] for line in lines[starts[-1] if starts else 0:] if (match := _RECEIVER.search(line))]
    return found[-1][:400] if found else None


def receiver_failure(said: str) -> str | None:
    if "password authentication failed" in said:
        return "password"
    if "no pg_hba.conf entry" in said:
        return "pg_hba"
    return "slot" if "replication slot" in said else None


def not_streaming(target: Target, standby: str, primary: str = "the primary", primary_ip: str = "PRIMARY_IP") -> str:
    """What to tell a student whose `standby` is in recovery but receives no WAL: the log's line
    and its fix when it logged one, else what a standby needs to stream."""
    said = receiver_error(target, standby)
    if said:
        return (f"{standby} is in recovery but does not stream from {primary}; its log says: \"{said}\"."
                f" {RECEIVER_FIXES.get(receiver_failure(said), RECEIVER_FIX)}")
    return (f"{standby} is in recovery but does not stream from {primary}: it replays only what it was "
            f"restored with. Give it primary_conninfo (host={primary_ip} user=replicator) — pg_basebackup -R "
            "writes it — and check pg_hba.conf's replication line")
