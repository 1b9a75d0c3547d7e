"""Chapter 03's checks on a scripted stack: each passes with the app's data on db1 and names the fix when broken."""

import pytest

from grader.result import PASSED

from .kit import PRIVATE_IPS, FakeTarget, assert_hint, check_ids, health, respond, rows, run

CHAPTER = "03-postgresql"
DB1 = PRIVATE_IPS["db1"]
WRITTEN, BOOTED = 1_780_000_000.25, 1_780_000_100.5


@pytest.fixture
def target():
    return FakeTarget(instances=("web1", "db1"))


@pytest.fixture
def healthy(target):
    database = {"vendor": "postgresql", "host": DB1, "name": "newsroom", "ok": True}
    target.on_http("web1", "/health/", health(database=database))
    target.on_ssh("db1", "pg_hba_file_rules", rows((1, "local", "all", "postgres", "", "peer"),
                                                   (2, "host", "newsroom", "newsroom", "10.0.0.21", "scram-sha-256")))
    target.on_ssh("db1", "pg_authid", rows(("newsroom", "SCRAM-SHA-256")))
    target.facts("db1").listening = ["tcp://127.0.0.1:5432", f"tcp://{DB1}:5432", "tcp://::1:5432",
                                     "tcp://0.0.0.0:22", "unix:///var/run/postgresql/.s.PGSQL.5432"]
    target.on_ssh("db1", "FROM pg_database", rows(("postgres",), ("newsroom",)))
    for table, count in (("django_migrations", 25), ("articles_article", 5), ("articles_marker", 1)):
        target.on_ssh("db1", f"tablename = '{table}'", rows((1,)))
        target.on_ssh("db1", f"count(*) FROM {table}", rows((count,)))
    target.on_ssh("db1", "FROM articles_marker WHERE value = 'before-restart'", rows((WRITTEN,)))
    target.on_ssh("web1", "UserspaceTimestamp", f"{BOOTED}\n")
    target.on_http("web1", "/api/markers/before-restart/", respond(json={"value": "before-restart"}))
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_the_data_on_db1(healthy, check_id):
    result = run(healthy, CHAPTER, check_id)
    assert (result.status, result.hints) == (PASSED, [])


def database(**fields):
    return health(database={"vendor": "postgresql", "host": DB1, "name": "newsroom", "ok": True, **fields})


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("app-uses-postgres-on-db1", lambda t: t.on_http("web1", "/health/", database(vendor="sqlite", host=None)),
     "the app still uses sqlite"),
    ("app-uses-postgres-on-db1", lambda t: t.on_http("web1", "/health/", database(host="127.0.0.1")),
     "the app's database is at 127.0.0.1, not on db1"),
    ("app-uses-postgres-on-db1", lambda t: t.facts("web1").services.update({"postgresql@15-main": True}),
     "PostgreSQL also runs on web1"),
    ("password-authentication", lambda t: t.on_ssh("db1", "pg_hba_file_rules", rows(
        (1, "host", "all", "all", "0.0.0.0", "trust"))),
     "pg_hba.conf lets clients in without a hashed password (line 1: host all all 0.0.0.0)"),
    ("password-authentication", lambda t: t.on_ssh("db1", "pg_authid", rows(("newsroom", "md5a1b2c3d4e5f6"))),
     "the newsroom role has no SCRAM password"),
    ("password-authentication", lambda t: t.on_ssh("db1", "psql", "", exit_code=2,
                                                   stderr="psql: error: connection to server failed"),
     "PostgreSQL on db1 did not answer (psql: error: connection to server failed)"),
    ("listens-where-it-must", lambda t: setattr(t.facts("db1"), "listening", ["tcp://0.0.0.0:22"]),
     "nothing listens on port 5432 on db1"),
    ("listens-where-it-must", lambda t: setattr(t.facts("db1"), "listening", ["tcp://0.0.0.0:5432", "tcp://:::5432"]),
     "PostgreSQL listens on 0.0.0.0, ::: set listen_addresses = 'localhost,10.0.0.41'"),
    ("listens-where-it-must", lambda t: setattr(t.facts("db1"), "listening", ["tcp://127.0.0.1:5432"]),
     "PostgreSQL does not listen on db1's private address 10.0.0.41"),
    ("migrations-applied", lambda t: t.on_ssh("db1", "FROM pg_database", rows(("postgres",))),
     "db1 has no newsroom database"),
    ("migrations-applied", lambda t: t.on_ssh("db1", "tablename = 'django_migrations'", ""),
     "the newsroom database has no tables"),
    ("survives-web-restart", lambda t: t.on_ssh("db1", "FROM articles_marker WHERE value", ""),
     "no marker row 'before-restart' in db1"),
    ("survives-web-restart", lambda t: t.on_ssh("web1", "UserspaceTimestamp", f"{WRITTEN - 60}\n"),
     "web1 has not restarted since the marker was written"),
    ("survives-web-restart", lambda t: t.on_http("web1", "/api/markers/before-restart/", respond(500)),
     "web1 does not serve the marker after its restart (HTTP 500)"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def test_behind_pgpool_the_app_may_reach_db1_through_pgpool1():
    target = FakeTarget(instances=("web1", "db1", "pgpool1"))
    target.on_http("web1", "/health/", database(host=PRIVATE_IPS["pgpool1"]))
    assert run(target, CHAPTER, "app-uses-postgres-on-db1").status == PASSED
