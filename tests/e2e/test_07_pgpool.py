"""Chapter 07 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and each check catches its broken stack: the
app bypassing pgpool, pgpool trusting its clients, a pool larger than PostgreSQL allows."""

from __future__ import annotations

import pytest

from tests.e2e.coursework import assert_full_marks_and_blank_zero, failing_hints, reconfigure_pgpool
from workshop.deploy import pgpool, web
from workshop.deploy.pgpool import PoolSize
from workshop.deploy.postgres import database_url, install_hba
from workshop.deploy.settings import reference_settings

pytestmark = pytest.mark.e2e
CHAPTER = "07-pgpool"


def test_the_solution_autogrades_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_an_app_connecting_to_postgresql_directly_is_caught(folder, lab):
    install_hba(lab.instance("db1"), pgpool.database_hba(lab, "db1", app_clients=("pgpool1", "web1", "web2")))
    web.deploy_release_web_server(lab, "web1", **dict(reference_settings(lab, 6), database_url=database_url(lab)))
    try:
        assert "web1's app connects to" in failing_hints(folder, CHAPTER, "app-through-pgpool")
        assert "admits the app's user from web1" in failing_hints(folder, CHAPTER, "database-refuses-direct")
    finally:
        web.deploy_release_web_server(lab, "web1", **reference_settings(lab, 7))
        pgpool.restrict_to_pooler(lab)


def test_pgpool_trusting_its_clients_is_caught(folder, lab):
    reconfigure_pgpool(lab, pool_hba="host    all    all    0.0.0.0/0    trust\n" + pgpool.reference_pool_hba(lab))
    try:
        hints = failing_hints(folder, CHAPTER, "scram-end-to-end")
        assert "lets clients in without SCRAM" in hints and "with a wrong password" in hints
    finally:
        reconfigure_pgpool(lab)


def test_a_pool_larger_than_postgresql_allows_is_caught(folder, lab):
    reconfigure_pgpool(lab, conf=pgpool.reference_pgpool_conf(lab, size=PoolSize(num_init_children=32, max_pool=4)))
    try:
        assert "32 * 4 = 128 is more than db1 allows" in failing_hints(folder, CHAPTER, "pool-sizing")
    finally:
        reconfigure_pgpool(lab)
