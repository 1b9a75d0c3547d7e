"""Chapters 07 and 08 end to end on one stack caught up to chapter 06: the solutions
autograde to full marks, the unmodified releases to zero, and each check catches its
broken stack: the app bypassing pgpool, pgpool trusting its clients, a pool larger than
PostgreSQL allows, reads never reaching the standby, a standby restored from a backup
but not streaming, a failover that lost acknowledged writes."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.coursework import assert_full_marks_and_blank_zero, caught_up, failing_hints, work_through
from workshop.course import Course
from workshop.deploy import pgpool, replication, web
from workshop.deploy.pgpool import PoolSize
from workshop.deploy.postgres import database_url, install_hba
from workshop.deploy.settings import reference_settings
from workshop.failover import cut_off, fail_over

pytestmark = pytest.mark.e2e
CH07, CH08 = "07-pgpool", "08-replication"


@pytest.fixture(scope="module")
def lab(stack_name, tmp_path_factory):
    return caught_up(stack_name, tmp_path_factory, 6)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([CH07, CH08])
    return course


@pytest.fixture(scope="module")
def chapter07(lab, tmp_path_factory):
    folder = tmp_path_factory.mktemp("student") / CH07
    printed = work_through(CH07, folder)
    assert "Chapter 07-pgpool: 4/4 points" in printed and "Chapter 07-pgpool: 3/3 points" in printed
    return folder


def _pgpool(lab, conf=None, pool_hba=None):
    """Reconfigure pgpool1 (the reference configuration for what is not given)."""
    backends = tuple(name for name in ("db1", "db2") if name in lab.stack.instances)
    pgpool.configure_pgpool(lab, lab.instance("pgpool1"), conf or pgpool.reference_pgpool_conf(lab, backends=backends),
                            pool_hba or pgpool.reference_pool_hba(lab))


class TestChapter07:
    def test_the_solution_autogrades_to_full_marks_and_the_release_to_zero(self, course, chapter07, tmp_path):
        assert_full_marks_and_blank_zero(course, CH07, chapter07, tmp_path)

    def test_an_app_connecting_to_postgresql_directly_is_caught(self, chapter07, lab):
        install_hba(lab.instance("db1"), pgpool.database_hba(lab, "db1", app_clients=("pgpool1", "web1", "web2")))
        web.deploy_release_web_server(lab, "web1", **dict(reference_settings(lab, 6), database_url=database_url(lab)))
        try:
            assert "web1's app connects to" in failing_hints(chapter07, CH07, "app-through-pgpool")
            assert "admits the app's user from web1" in failing_hints(chapter07, CH07, "database-refuses-direct")
        finally:
            web.deploy_release_web_server(lab, "web1", **reference_settings(lab, 7))
            pgpool.restrict_to_pooler(lab)

    def test_pgpool_trusting_its_clients_is_caught(self, chapter07, lab):
        _pgpool(lab, pool_hba="host    all    all    0.0.0.0/0    trust\n" + pgpool.reference_pool_hba(lab))
        try:
            hints = failing_hints(chapter07, CH07, "scram-end-to-end")
            assert "lets clients in without SCRAM" in hints and "with a wrong password" in hints
        finally:
            _pgpool(lab)

    def test_a_pool_larger_than_postgresql_allows_is_caught(self, chapter07, lab):
        _pgpool(lab, conf=pgpool.reference_pgpool_conf(lab, size=PoolSize(num_init_children=32, max_pool=4)))
        try:
            assert "32 * 4 = 128 is more than db1 allows" in failing_hints(chapter07, CH07, "pool-sizing")
        finally:
            _pgpool(lab)


@pytest.fixture(scope="module")
def chapter08(lab, chapter07, tmp_path_factory):
    folder = tmp_path_factory.mktemp("student") / CH08
    printed = work_through(CH08, folder)
    for points in ("4/4", "3/3", "2/2"):
        assert f"Chapter 08-replication: {points} points" in printed
    return folder


class TestChapter08:
    def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(self, course, chapter08, tmp_path):
        assert_full_marks_and_blank_zero(course, CH08, chapter08, tmp_path)

    def test_reads_that_never_reach_the_standby_are_caught(self, chapter08, lab):
        _pgpool(lab, conf=pgpool.reference_pgpool_conf(lab, backends=(replication.find_primary(lab).name,)))
        try:
            assert "none of 20 reads through the app reached" in failing_hints(chapter08, CH08, "reads-reach-standby")
        finally:
            _pgpool(lab)

    def test_a_standby_restored_from_a_backup_but_not_streaming_is_caught(self, chapter08, lab):
        primary = replication.find_primary(lab)
        standby = lab.instance("db1" if primary.name == "db2" else "db2")
        standby.run(f"systemctl stop postgresql@15-main && rm -rf {replication.DATA_DIR} && cd / "
                    f"&& runuser -u postgres -- pg_basebackup -w -D {replication.DATA_DIR} -X stream -c fast "
                    f"-d 'host={primary.private_ip} user=replicator' "
                    f"&& touch {replication.DATA_DIR}/standby.signal && systemctl start postgresql@15-main")
        try:
            assert f"{standby.name} is in recovery but does not stream" in failing_hints(
                chapter08, CH08, "streaming-with-slot")
            assert f"is not on {standby.name} after" in failing_hints(chapter08, CH08, "fresh-write-on-standby")
        finally:
            replication.ensure_standby(lab)

    def test_a_failover_that_lost_acknowledged_writes_is_caught(self, chapter08, lab, tmp_path):
        primary = replication.find_primary(lab)
        standby = lab.instance("db1" if primary.name == "db2" else "db2")
        cut_off(standby)
        try:
            lossy = fail_over(lab, primary.name, through="lb1")
            assert lossy["lost"] > 0
            shutil.copy(chapter08 / "workshop-stack.json", tmp_path)
            shutil.copy(lab.folder / f"failover-{primary.name}.json", tmp_path / "failover-db1.json")
            assert "writes the app acknowledged are not on" in failing_hints(
                tmp_path, CH08, "no-acknowledged-write-lost")
        finally:
            replication.ensure_standby(lab)
