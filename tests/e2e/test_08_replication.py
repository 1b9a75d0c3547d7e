"""Chapter 08 end to end on the shared course stack: the solutions autograde to full
marks, the unmodified releases to zero, and each check catches its broken stack:
clone scripts that forget the standby's application_name or its slot, or cannot log in (the
cell shows pg_basebackup's own words), reads never reaching the standby, reads still reaching a standby that lags, a standby restored from a backup but not streaming,
a standby with the wrong replication password (the hint quotes its log), an old primary left down after the
drill, a failover that lost acknowledged writes."""

from __future__ import annotations

import shutil

import pytest

from grader.wal_receiver import PG_LOG
from tests.e2e.coursework import as_students, assert_full_marks_and_blank_zero, failing_hints, reconfigure_pgpool
from workshop.deploy import pgpool, replication
from workshop.errors import StackError
from workshop.failover import cut_off, fail_over
from workshop.waiting import wait_until

pytestmark = pytest.mark.e2e
CHAPTER = "08-replication"


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def the_pair(lab):
    """(standby, primary): the solution's 08b swapped the roles."""
    primary = replication.find_primary(lab)
    return lab.instance("db1" if primary.name == "db2" else "db2"), primary


@pytest.fixture
def own_clone(lab):
    """The solution's clone script for the standby (the course's without its first line); the standby
    is cloned with it again after the test, whatever the test did."""
    standby, primary = the_pair(lab)
    script = as_students(replication.clone_script(lab, standby.name, primary.name))
    yield standby, primary, script
    replication.clone_standby(lab, standby.name, script, primary=primary.name)


def test_a_clone_without_the_standbys_application_name_is_caught(folder, lab, own_clone):
    standby, primary, script = own_clone
    replication.clone_standby(lab, standby.name, script.replace(f" application_name={standby.name}", ""),
                              primary=primary.name)
    hints = failing_hints(folder, CHAPTER, "streaming-with-slot")
    assert f"{standby.name} streams as application_name" in hints and f"not '{standby.name}'" in hints


def test_a_clone_without_its_own_replication_slot_is_told_what_the_standby_logs(lab, own_clone):
    """The clone copies the primary's postgresql.auto.conf, and the promoted server still names the
    slot it streamed through as a standby: without `-C -S` of its own, the new standby asks for that one."""
    standby, primary, script = own_clone
    with pytest.raises(StackError) as failed:
        replication.clone_standby(lab, standby.name, script.replace(f"-C -S {standby.name}slot ", ""),
                                  primary=primary.name)
    assert f"{standby.name} does not stream from {primary.name}" in str(failed.value)
    assert f'replication slot "{primary.name}slot" does not exist' in str(failed.value)


def test_a_clone_that_cannot_log_in_shows_pg_basebackups_own_words(lab, own_clone):
    """The standby keeps the data it had, so the fixed script can run (the fixture's clone)."""
    standby, primary, script = own_clone
    with pytest.raises(StackError) as failed:
        replication.clone_standby(lab, standby.name, script.replace("user=replicator", "user=newsroom"),
                                  primary=primary.name)
    assert f"cloning {primary.name} into {standby.name} failed, and {standby.name} keeps the data it had" in str(
        failed.value)
    assert 'pg_basebackup said: pg_basebackup: error: ' in str(failed.value)
    assert standby.run(f"test -f {replication.DATA_DIR}/standby.signal", readonly=True, check=False).ok  # as it was


def test_reads_that_never_reach_the_standby_are_caught(folder, lab):
    reconfigure_pgpool(lab, conf=pgpool.reference_pgpool_conf(lab, backends=(replication.find_primary(lab).name,)))
    try:
        assert "none of 20 reads through the app reached" in failing_hints(folder, CHAPTER, "reads-reach-standby")
    finally:
        reconfigure_pgpool(lab)


def test_a_pgpool_that_cannot_measure_the_standby_s_delay_and_reads_from_it_behind_is_caught(folder, lab):
    """sr_check_user cannot log in: pgpool never sees the standby's delay, so a lagging standby keeps its reads."""
    conf = pgpool.reference_pgpool_conf(lab, backends=("db1", "db2"))
    reconfigure_pgpool(lab, conf=conf.replace(f"sr_check_user = '{pgpool.MONITOR_USER}'", "sr_check_user = 'nobody'"))
    try:
        assert "of the app's reads to" in failing_hints(folder, CHAPTER, "lagging-standby-skipped")
    finally:
        reconfigure_pgpool(lab)


def test_a_standby_restored_from_a_backup_but_not_streaming_is_caught(folder, lab):
    primary = replication.find_primary(lab)
    standby = lab.instance("db1" if primary.name == "db2" else "db2")
    standby.run(f"systemctl stop postgresql@15-main && rm -rf {replication.DATA_DIR} && cd / "
                f"&& runuser -u postgres -- pg_basebackup -w -D {replication.DATA_DIR} -X stream -c fast "
                f"-d 'host={primary.private_ip} user=replicator' "
                f"&& touch {replication.DATA_DIR}/standby.signal && systemctl start postgresql@15-main")
    try:
        assert f"{standby.name} is in recovery but does not stream" in failing_hints(
            folder, CHAPTER, "streaming-with-slot")
        # the checks standing on the standby streaming lead with that cause instead of their symptom
        assert f"not checked: {standby.name} is in recovery but does not stream" in failing_hints(
            folder, CHAPTER, "fresh-write-on-standby")
    finally:
        replication.ensure_standby(lab)


def test_a_standby_with_the_wrong_replication_password_is_told_so_in_its_own_logs_words(folder, lab):
    primary = replication.find_primary(lab)
    standby = lab.instance("db1" if primary.name == "db2" else "db2")
    pgpass = replication.PGPASS
    standby.run(f"cp -p {pgpass} {pgpass}.kept && sed -i 's/:[^:]*$/:not-the-password/' {pgpass} "
                "&& systemctl restart postgresql@15-main")
    try:
        assert wait_until(lambda: "password authentication failed" in standby.run(
            f"tail -n 50 {PG_LOG}", readonly=True).stdout, 30, 1)
        hints = failing_hints(folder, CHAPTER, "streaming-with-slot")
        assert 'its log says: "could not connect to the primary server' in hints
        assert 'password authentication failed for user "replicator"' in hints
        assert "The password in the standby's primary_conninfo" in hints
    finally:
        standby.run(f"mv {pgpass}.kept {pgpass} && systemctl restart postgresql@15-main")
        replication.ensure_standby(lab)


def test_an_old_primary_left_down_after_the_drill_is_caught(folder, lab):
    """08b's Task 2 skipped: the server that is not the primary stays down, and the pair check
    says how to bring it back (not only that a standby is missing)."""
    primary = replication.find_primary(lab)
    standby = lab.instance("db1" if primary.name == "db2" else "db2")
    standby.run("systemctl stop postgresql@15-main")
    try:
        assert f"{standby.name} is not back since the drill killed it" in failing_hints(
            folder, CHAPTER, "pair-whole-again")
    finally:
        standby.run("systemctl start postgresql@15-main")
        replication.ensure_standby(lab)


def test_a_failover_that_lost_acknowledged_writes_is_caught(folder, lab, tmp_path):
    primary = replication.find_primary(lab)
    standby = lab.instance("db1" if primary.name == "db2" else "db2")
    cut_off(standby)
    try:
        lossy = fail_over(lab, primary.name, through="lb1")
        assert lossy["lost"] > 0
        shutil.copy(folder / "workshop-stack.json", tmp_path)
        shutil.copy(lab.folder / f"failover-{primary.name}.json", tmp_path / "failover-db1.json")
        assert "writes the app acknowledged are not on" in failing_hints(
            tmp_path, CHAPTER, "no-acknowledged-write-lost")
    finally:
        replication.ensure_standby(lab)
