"""Routine operations on the shared course stack, once it has been through every chapter:
each restart of the fault battery (workshop/faults.py) leaves the site serving again by
itself, with pgpool's servers all up and no acknowledged write lost; pgpool holding both
servers down is reported as the root cause, and catch-up repairs it, as it repairs a standby
that does not stream and a sick Varnish backend, each named first; afterwards every check
of every chapter worked through on the stack passes again, with no hand repair (the final
load test is run again first: varnish1's restart reset the counters that vouch for it, as
its hint says).

Runs after test_full_course (file order), so the graded submission is not disturbed."""

from __future__ import annotations

import re

import pytest

import grader
from tests.e2e.coursework import failing_hints
from workshop import loadtest
from workshop.catchup import catch_up
from workshop.deploy import pgpool, replication, varnish
from workshop.faults import FAULTS, TABLE_HEADER, run_battery
from workshop.lab import open_lab
from workshop.pgpool_view import SHOW_POOL_NODES
from workshop.waiting import wait_until

pytestmark = pytest.mark.e2e
CHAPTER = "10-final-load-test"
PGPOOL_CONF = f"{pgpool.CONFIG_DIR}/pgpool.conf"
SHOW_AUTO_FAILBACK = SHOW_POOL_NODES.replace("SHOW pool_nodes", "PGPOOL SHOW auto_failback")
#: Back as the course's pgpool.conf has it (pgpool takes no session with both servers down: not asked).
AUTO_FAILBACK_ON = f"sed -i 's/^auto_failback = off$/auto_failback = on/' {PGPOOL_CONF} && systemctl reload pgpool2"


@pytest.fixture(scope="module")
def battery(lab):
    results = run_battery(lab)
    print("\n" + TABLE_HEADER + "\n" + "\n".join(result.row() for result in results))
    return results


@pytest.mark.parametrize("fault", [fault.name for fault in FAULTS])
def test_the_site_serves_again_by_itself_with_every_database_server_up_and_no_write_lost(battery, fault):
    result = next(result for result in battery if result.fault == fault)
    assert result.serving_again_s is not None, f"{fault}: the site did not serve again within the probe"
    assert result.all_up_s is not None, f"{fault}: pgpool did not have both servers up again"
    assert result.acknowledged > 0 and result.lost == 0, result


def test_pgpool_holding_both_servers_down_is_the_root_cause_and_catch_up_repairs_it(lab, tmp_path):
    """The state two blunt restarts left behind before auto_failback: pgpool running with both
    servers marked down, though both answer. The standby is detached first, so detaching the
    primary promotes nobody. auto_failback would attach the standby back while the primary is
    still up (pgpool's docs: turn it off before detaching a standby; CI once saw it, and the
    primary's detach then promoted the standby), so it is off for the two detaches, then on
    again as the course sets it (with no primary up it attaches nothing)."""
    pooler = lab.instance("pgpool1")
    nodes = {node["role"]: node["node_id"] for node in pgpool.pcp_nodes(lab, pooler).values()}
    detach = f"pcp_detach_node -w -h localhost -p {pgpool.PCP_PORT} -U {pgpool.PCP_USER} -n"
    turn_auto_failback_off(pooler)
    pooler.run(f"{detach} {nodes['standby']} && {detach} {nodes['primary']} && {AUTO_FAILBACK_ON}")
    try:
        assert {node["status"] for node in pgpool.pcp_nodes(lab, pooler).values()} == {"down"}
        hints = failing_hints(lab.folder, "07-pgpool", "app-through-pgpool")
        assert re.search(r"not checked: pgpool on pgpool1 has no primary up \(pcp_node_info: db\d down", hints), hints
    finally:  # whatever failed above, the stack the next test shares is repaired
        catch_up(open_lab(lab.stack.name, folder=tmp_path), 10)
    assert {node["status"] for node in pgpool.pcp_nodes(lab, pooler).values()} <= {"up", "waiting"}


def turn_auto_failback_off(pooler) -> None:
    """auto_failback = off in pgpool.conf, reloaded, until pgpool itself shows it."""
    pooler.run(f"sed -i 's/^auto_failback = on$/auto_failback = off/' {PGPOOL_CONF} && systemctl reload pgpool2")
    shown = wait_until(lambda: pooler.run(SHOW_AUTO_FAILBACK, readonly=True, check=False).stdout.split()[-1:], 10, 0.2,
                       done=lambda answer: answer == ["off"])
    assert shown == ["off"], f"pgpool still shows auto_failback = {shown} after its reload"


def test_a_standby_that_does_not_stream_and_a_sick_varnish_backend_are_named_and_catch_up_repairs_them(lab, tmp_path):
    """The standby loses its primary_conninfo (it stays in recovery, replaying nothing new) and
    varnish1 gets the course's VCL with a backend port lb1 does not listen on: chapter 08's
    report leads with the standby in its own state, chapter 09's check names the sick backend,
    and one catch-up brings back streaming and a healthy backend (it replaces the course's VCL,
    never a student's own: the student's goes back afterwards)."""
    primary = replication.find_primary(lab)
    standby = lab.instance("db1" if primary.name == "db2" else "db2")
    varnish1 = lab.instance("varnish1")
    own_vcl = varnish1.run(f"cat {varnish.VCL}", readonly=True).stdout
    standby.run(f"sed -i '/primary_conninfo/d' {replication.DATA_DIR}/postgresql.auto.conf "
                "&& systemctl restart postgresql@15-main")
    varnish.configure_varnish(varnish1, varnish.reference_vcl(lab).replace('.port = "80";', '.port = "81";'))
    try:
        hints = failing_hints(lab.folder, "08-replication", "fresh-write-on-standby")
        assert f"not checked: {standby.name} is in recovery but does not stream from the primary" in hints, hints
        hints = failing_hints(lab.folder, "09-varnish", "varnish-in-front")
        assert "the active VCL on varnish1 has had no healthy backend for 20 s" in hints, hints
    finally:
        catch_up(open_lab(lab.stack.name, folder=tmp_path), 10)
    assert replication.streams_from(standby, replication.find_primary(lab))
    assert varnish.backend_healthy(varnish1)
    varnish.configure_varnish(varnish1, own_vcl)


def test_afterwards_every_check_of_every_worked_chapter_passes(battery, lab, worked_folders):
    if not worked_folders:
        pytest.skip("no chapter was worked through on the shared stack in this session (run the whole e2e suite)")
    if CHAPTER in worked_folders:
        loadtest.run(open_lab(lab.stack.name, folder=worked_folders[CHAPTER]), "10-final", lab.instance("varnish1"))
    for chapter, folder in worked_folders.items():
        ids = [item.check_id for item in grader.checks_for(chapter) if not item.answers]
        grader.assert_checks(chapter, *ids, folder=str(folder))
