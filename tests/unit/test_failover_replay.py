"""Catch-up's failover drill kills the primary only once the standby has replayed all it wrote."""

from types import SimpleNamespace

import pytest

from workshop.errors import StackError
from workshop.failover import wait_for_replay
from workshop.progress import Progress


class _Server:
    """A database server answering psql with the next of `answers`; it keeps the SQL it was sent."""

    def __init__(self, name, *answers):
        self.name, self.answers, self.sent = name, list(answers), []

    def run(self, command, stdin, **_):
        self.sent.append(stdin)
        return SimpleNamespace(stdout=self.answers.pop(0) if len(self.answers) > 1 else self.answers[0], exit_code=0)


def test_the_wait_ends_once_the_standby_has_replayed_the_primarys_current_lsn():
    primary, standby = _Server("db1", "0/30CF3E0\n"), _Server("db2", "f\n", "f\n", "t\n")
    wait_for_replay(primary, standby, Progress("drill", quiet=True))
    assert primary.sent == ["SELECT pg_current_wal_lsn()"]
    assert standby.sent == ["SELECT pg_last_wal_replay_lsn() >= '0/30CF3E0'::pg_lsn"] * 3


def test_a_standby_that_never_catches_up_stops_the_drill_before_the_kill():
    primary, standby = _Server("db1", "0/30CF3E0\n"), _Server("db2", "f\n")
    with pytest.raises(StackError, match=r"db2 has not replayed db1's WAL up to 0/30CF3E0 .*pg_stat_replication on db1"):
        wait_for_replay(primary, standby, Progress("drill", quiet=True), timeout=0.3)
