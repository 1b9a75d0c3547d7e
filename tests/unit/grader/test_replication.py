"""Chapter 08's checks on a scripted stack, after a rehearsed failover (db2 primary, db1 streaming from it):
each passes, and names the fix when broken."""

import re

import pytest

from grader.result import PASSED

from tests.unit.record_samples import failover_drill

from .kit import PRIVATE_IPS, assert_hint, check_ids, respond, rows, run

CHAPTER = "08-replication"
DB1, DB2 = PRIVATE_IPS["db1"], PRIVATE_IPS["db2"]
ACKNOWLEDGED = [f"drill-{i}" for i in range(3)]
DRILL = failover_drill("units", acknowledged_after_kill=120, unavailable_s=1.2, acknowledged=len(ACKNOWLEDGED),
                       acknowledged_markers=ACKNOWLEDGED).to_dict()


class Markers:
    """Marker rows written through the app, on the servers they reached (`lagging` servers get none)."""

    def __init__(self, target, lagging=()):
        self.rows = {"db1": set(ACKNOWLEDGED), "db2": set(ACKNOWLEDGED)}
        self.lagging = lagging
        target.on_http("web1", "/api/markers/", self.write, method="POST")
        for name in self.rows:
            target.on_ssh(name, "FROM articles_marker WHERE value IN", lambda command, name=name: self.select(name, command))

    def write(self, path, kwargs):
        for name, values in self.rows.items():
            if name not in self.lagging:
                values.add(kwargs["data"]["value"])
        return respond(201, json=kwargs["data"])

    def select(self, name, command):
        return rows(*[(value,) for value in re.findall(r"'([^']+)'", command.split(" IN ", 1)[1])
                      if value in self.rows[name]])


def roles(target, db1="t", db2="f"):
    """What pg_is_in_recovery() answers on each server (t: standby, f: primary)."""
    target.on_ssh("db1", "pg_is_in_recovery", f"{db1}\n")
    target.on_ssh("db2", "pg_is_in_recovery", f"{db2}\n")


@pytest.fixture
def healthy(target, clock):
    roles(target)
    target.on_ssh("db2", "FROM pg_stat_replication", rows((DB1, "db1", "streaming")))
    target.on_ssh("db2", "pg_wal_lsn_diff", rows((128,)))
    target.on_ssh("db1", "FROM pg_stat_wal_receiver", rows(("streaming", DB2, "db1_slot")))
    target.on_ssh("db2", "FROM pg_replication_slots", rows(("db1_slot",)))
    commits = iter(range(100, 10_000, 7))
    target.on_ssh("db1", "FROM pg_stat_database", lambda command: rows((next(commits),)))
    target.on_http("web1", "/api/markers/", respond(json=[]))
    target.on_ssh("db2", "pg_walfile_name", rows(("00000002",)))
    Markers(target)
    target.recordings["failover-db1.json"] = dict(DRILL)
    return target




@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_after_a_rehearsed_failover(healthy, check_id):
    result = run(healthy, CHAPTER, check_id)
    assert (result.status, result.hints) == (PASSED, [])


def drill(**fields):
    return lambda t: t.recordings["failover-db1.json"].update(fields)


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("standby-in-recovery", lambda t: roles(t, db1="f", db2="f"), "db1 and db2 are both primaries (split brain)"),
    ("standby-in-recovery", lambda t: roles(t, db1="t", db2="t"), "neither db1 nor db2 accepts writes"),
    ("standby-in-recovery", lambda t: t.states.update(db1="stopped"),
     "db1 is not a standby (down): clone db2 into it with pg_basebackup -R -S SLOT"),
    ("standby-in-recovery", lambda t: t.stack.instances.pop("db2"), "the stack has no instance db2"),
    ("streaming-with-slot", lambda t: t.on_ssh("db2", "FROM pg_stat_replication", ""),
     "db1 is in recovery but does not stream from db2"),
    ("streaming-with-slot", lambda t: t.on_ssh("db1", "FROM pg_stat_wal_receiver", rows(("streaming", DB2, ""))),
     "db1 streams without a replication slot"),
    ("small-lag", lambda t: t.on_ssh("db2", "pg_wal_lsn_diff", ""), "db2 has no replay position from db1"),
    ("small-lag", lambda t: t.on_ssh("db2", "pg_wal_lsn_diff", rows((5_000_000,))),
     "db1 is 5000000 bytes of WAL behind db2"),
    ("fresh-write-on-standby", lambda t: t.on_http("web1", "/api/markers/", respond(500), method="POST"),
     "writing through the app on web1 failed (HTTP 500)"),
    ("fresh-write-on-standby", lambda t: Markers(t, lagging=("db1",)),
     "is not on db1 after 5s: db1 is not receiving db2's WAL"),
    ("reads-reach-standby", lambda t: t.on_ssh("db1", "FROM pg_stat_database", rows((100,))),
     "none of 20 reads through the app reached db1"),
    ("standby-promoted", lambda t: t.recordings.clear(), "no failover drill recorded"),
    ("standby-promoted", drill(stack="other"), "the recorded failover drill for db1 ran against stack other, not units"),
    ("standby-promoted", lambda t: roles(t, db1="f", db2="f"), "db1 and db2 are both primaries (split brain)"),
    ("standby-promoted", lambda t: roles(t, db1="t", db2="t"), "no database server accepts writes"),
    ("standby-promoted", drill(survivor_promoted=False), "the standby was not promoted when the primary died"),
    ("standby-promoted", lambda t: t.on_ssh("db2", "pg_walfile_name", rows(("00000001",))),
     "the standby was not promoted when the primary died"),
    ("writes-after-failover", drill(requests=40), "the drill sent only 40 writes"),
    ("writes-after-failover", drill(acknowledged_after_kill=3), "only 3 writes succeeded after db1 was killed"),
    ("writes-after-failover", lambda t: Markers(t, lagging=("db2",)),
     "a write through the app did not land on the primary"),
    ("no-acknowledged-write-lost", lambda t: roles(t, db1="t", db2="t"),
     "no database server accepts writes: there is no primary to look for the drill's markers on"),
    ("no-acknowledged-write-lost", drill(acknowledged_markers=[]), "the drill recorded no acknowledged write"),
    ("no-acknowledged-write-lost", drill(acknowledged_markers=ACKNOWLEDGED + ["lost-1"]),
     "1 writes the app acknowledged are not on db2 (e.g. lost-1)"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)
