"""Chapter 07's checks on a scripted stack: each passes with the app going through pgpool1 and names the fix
when broken."""

import pytest

from grader.result import PASSED

from .kit import PRIVATE_IPS, assert_hint, check_ids, health, rows, run

CHAPTER = "07-pgpool"
POOLER, DB1, DB2 = PRIVATE_IPS["pgpool1"], PRIVATE_IPS["db1"], PRIVATE_IPS["db2"]
#: Exercise 07a's answer for db1, as a student may write it (spacing, comments and quotes their own).
BACKENDS = ("backend_hostname0 = '10.0.0.41'   # db1\nbackend_port0=5432\nbackend_weight0 = 1\n"
            "backend_data_directory0 = '/var/lib/postgresql/15/main'\nbackend_flag0 = 'ALLOW_TO_FAILOVER'\n"
            "backend_application_name0 = 'db1'\n")
PGPOOL_CONF = ("port = 5432\n" + BACKENDS.replace("=5432", " = 5432").replace("   # db1", "") +
               "num_init_children = 32   # clients\nmax_pool = 2\nenable_pool_hba = on\n")
POOL_HBA = "# TYPE DATABASE USER ADDRESS METHOD\nhost newsroom newsroom 10.0.0.21/32 scram-sha-256\n"
ANSWERS = {"backends": BACKENDS, "pool_hba": POOL_HBA}
REFUSED = "psql: error: FATAL:  no pg_hba.conf entry for host \"10.0.0.21\", user \"newsroom\""
WRONG_PASSWORD = "psql: error: FATAL:  password authentication failed for user \"newsroom\""


def login_from_web1(target, address, admitted=False, message=REFUSED):
    target.on_ssh("web1", f"host={address} port=5432", "1\n" if admitted else "", exit_code=0 if admitted else 2,
                  stderr="" if admitted else message + "\n")


@pytest.fixture
def healthy(target):
    for web in ("web1", "web2"):
        target.on_http(web, "/health/", health(web))
    for name in ("db1", "db2"):
        target.on_ssh(name, "FROM pg_stat_activity", rows((POOLER,)))
        target.on_ssh(name, "FROM pg_hba_file_rules", rows((POOLER, "scram-sha-256", "newsroom"),
                                                           ("", "peer", "postgres")))
        login_from_web1(target, PRIVATE_IPS[name])
    login_from_web1(target, POOLER, message=WRONG_PASSWORD)
    target.on_ssh("db1", "SHOW max_connections", rows((100,)))
    target.on_ssh("db1", "SHOW superuser_reserved_connections", rows((3,)))
    target.on_ssh("pgpool1", "cat /etc/pgpool2/pool_hba.conf", POOL_HBA)
    pgpool1 = target.facts("pgpool1")
    pgpool1.services["pgpool2"] = True
    pgpool1.files.update({"/etc/pgpool2/pgpool.conf": PGPOOL_CONF, "/etc/pgpool2/pool_hba.conf": POOL_HBA,
                          "/etc/pgpool2/pool_passwd": "newsroom:AESq2n0aXWr7c0yGz1H8pQ==\n"})
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_the_app_behind_pgpool(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, **ANSWERS)
    assert (result.status, result.hints) == (PASSED, [])


def pgpool_file(path, text):
    return lambda t: t.facts("pgpool1").files.update({path: text})


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("app-through-pgpool", lambda t: t.on_http("web2", "/health/", health(
        "web2", database={"vendor": "postgresql", "host": DB1, "name": "newsroom", "ok": True})),
     "web2's app connects to 10.0.0.41, not to pgpool"),
    ("app-through-pgpool", lambda t: t.on_ssh("db1", "FROM pg_stat_activity", rows((POOLER,), ("10.0.0.22",))),
     "db1 has app connections from 10.0.0.22, not only from pgpool1 (10.0.0.45)"),
    ("app-through-pgpool", lambda t: [t.on_ssh(db, "FROM pg_stat_activity", "") for db in ("db1", "db2")],
     "no app connection on the database comes from pgpool1 (10.0.0.45)"),
    ("database-refuses-direct", lambda t: t.states.update(db1="stopped", db2="stopped"),
     "no database server of the stack is running"),
    ("database-refuses-direct", lambda t: login_from_web1(t, DB2, admitted=True),
     "db2 let the app's user in from web1 with a wrong password (trust)"),
    ("database-refuses-direct", lambda t: login_from_web1(t, DB1, message=WRONG_PASSWORD),
     "db1 admits the app's user from web1 (it asked for a password)"),
    ("database-refuses-direct", lambda t: login_from_web1(t, DB1, message="psql: error: connection refused"),
     "could not test db1 from web1 (psql: error: connection refused)"),
    ("pool-sizing", lambda t: t.facts("pgpool1").files.pop("/etc/pgpool2/pgpool.conf"),
     "pgpool1 has no /etc/pgpool2/pgpool.conf"),
    ("pool-sizing", lambda t: t.facts("pgpool1").services.update(pgpool2=False),
     "pgpool is not running on pgpool1"),
    ("pool-sizing", pgpool_file("/etc/pgpool2/pgpool.conf", PGPOOL_CONF.replace("max_pool = 2", "max_pool = 4")),
     "num_init_children * max_pool = 32 * 4 = 128 is more than db1 allows ordinary users (100 - 3 = 97)"),
    ("scram-end-to-end", pgpool_file("/etc/pgpool2/pgpool.conf", PGPOOL_CONF.replace("enable_pool_hba = on\n", "")),
     "enable_pool_hba is off"),
    ("scram-end-to-end", pgpool_file("/etc/pgpool2/pool_hba.conf", POOL_HBA + "host all all 0.0.0.0/0 md5\n"),
     "pool_hba.conf lets clients in without SCRAM (host all all 0.0.0.0/0 md5)"),
    ("scram-end-to-end", lambda t: login_from_web1(t, POOLER, admitted=True),
     "pgpool let the app's user in from web1 with a wrong password"),
    ("scram-end-to-end", lambda t: t.facts("pgpool1").files.pop("/etc/pgpool2/pool_passwd"),
     "pool_passwd has no entry for newsroom"),
    ("scram-end-to-end", pgpool_file("/etc/pgpool2/pool_passwd", "newsroom:md5a1b2c3\n"),
     "pool_passwd keeps newsroom's password unencrypted or as an md5 hash"),
    ("scram-end-to-end", lambda t: t.on_ssh("db2", "FROM pg_hba_file_rules", rows((POOLER, "trust", "all"))),
     "the database admits pgpool1 without scram-sha-256"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id, **ANSWERS), hint)


@pytest.mark.parametrize("written, live, hint", [
    (None, PGPOOL_CONF, "`backends` is not set: write db1's backend lines in the answer cell of exercise 07a"),
    ("backend_hostname0 = '10.0.0.41'\nnum_init_children = 4\n", PGPOOL_CONF,
     "your `backends` are not backend lines pgpool can use: not a backend line: 'num_init_children = 4'"),
    (BACKENDS.replace("backend_flag0 = 'ALLOW_TO_FAILOVER'\n", ""), PGPOOL_CONF, "node 0 has no backend_flag0"),
    (BACKENDS.replace("0 =", "1 =").replace("0=", "1="), PGPOOL_CONF, "the nodes are numbered 1: pgpool numbers them 0"),
    (BACKENDS.replace("10.0.0.41", "10.0.0.42"), PGPOOL_CONF,
     "your backend_hostname0 is '10.0.0.42', not '10.0.0.41': db1's private address"),
    (BACKENDS.replace("'db1'", "'primary'"), PGPOOL_CONF,
     "your backend_application_name0 is 'primary', not 'db1': the name db1 streams under"),
    (BACKENDS, PGPOOL_CONF.replace("10.0.0.41", "10.0.0.42"), "pgpool1's /etc/pgpool2/pgpool.conf has no backend for db1"),
    (BACKENDS, PGPOOL_CONF.replace("'db1'", "'db-one'"), "pgpool1 runs other lines for db1 than your `backends`"),
])
def test_backend_lines_other_than_the_students_or_wrong_are_caught(healthy, written, live, hint):
    healthy.facts("pgpool1").files["/etc/pgpool2/pgpool.conf"] = live
    assert_hint(run(healthy, CHAPTER, "runs-your-backends", **dict(ANSWERS, backends=written)), hint)


def test_a_weight_of_the_students_choosing_and_a_second_server_after_chapter_08_pass(healthy):
    second = BACKENDS.replace("0 =", "1 =").replace("0=", "1=").replace("41", "42").replace("'db1'", "'db2'")
    healthy.facts("pgpool1").files["/etc/pgpool2/pgpool.conf"] = PGPOOL_CONF.replace("weight0 = 1", "weight0 = 2") + second
    result = run(healthy, CHAPTER, "runs-your-backends", **dict(ANSWERS, backends=BACKENDS.replace("weight0 = 1", "weight0 = 2")))
    assert (result.status, result.hints) == (PASSED, [])
