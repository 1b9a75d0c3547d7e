"""Chapter 07 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and each check catches its broken stack: the
app bypassing pgpool, pgpool trusting its clients, backend lines other than the student's,
a pool larger than PostgreSQL allows.
Values full of shell and SQL metacharacters reach PostgreSQL as data, from deploys and
checks alike, and a failing statement's error does not quote the password it carried."""

from __future__ import annotations

import pytest

from grader.postgresql import sql
from grader.target import Target
from tests.e2e.coursework import assert_full_marks_and_blank_zero, configured, failing_hints, reconfigure_pgpool
from workshop.deploy import pgpool, web
from workshop.deploy.pgpool import PoolSize
from workshop.deploy.postgres import database_url, psql
from workshop.deploy.settings import reference_settings
from workshop.errors import RemoteError
from workshop.sql import literal

pytestmark = pytest.mark.e2e
CHAPTER = "07-pgpool"
INJECTED = "/tmp/workshop-injected"
#: What a hostile descriptor or answer might hold: shell substitutions, a quote that ends a SQL
#: string, backslashes (E'' strings).
HOSTILE = (f"$(touch {INJECTED})", f"`touch {INJECTED}`", "'; DROP TABLE articles_marker; --",
           "back\\slash \\' '' \"double\"")
#: A value that would end the SQL of a heredoc in the command line, then run a command.
HEREDOC_ESCAPE = f"one\nSQL\ntouch {INJECTED}"


def test_values_with_shell_and_sql_metacharacters_reach_postgresql_as_data(lab):
    db1, target = lab.instance("db1"), Target(lab.stack, "the shared stack")
    db1.run(f"rm -f {INJECTED}")
    for value in HOSTILE:
        assert psql(db1, f"SELECT {literal(value)}", readonly=True).stdout == f"{value}\n"
        assert sql(target, f"SELECT {literal(value)}, 'next'") == [[value, "next"]]
    assert psql(db1, f"SELECT {literal(HEREDOC_ESCAPE)}", readonly=True).stdout == f"{HEREDOC_ESCAPE}\n"
    assert db1.run(f"test -e {INJECTED}", readonly=True, check=False).exit_code == 1
    assert sql(target, "SELECT count(*) FROM articles_marker", "newsroom")


def test_a_failing_statement_does_not_show_the_password_it_carried(lab):
    secret = "workshop-probe-secret-4c1f"
    with pytest.raises(RemoteError) as failed:
        psql(lab.instance("db1"), f"ALTER ROLE no_such_role PASSWORD {literal(secret)}")
    assert 'role "no_such_role" does not exist' in str(failed.value) and secret not in str(failed.value)


def test_the_solution_autogrades_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_an_app_connecting_to_postgresql_directly_is_caught(folder, lab):
    pgpool.admit_pooler(lab, "db1")
    web.deploy_release_web_server(lab, "web1", **dict(reference_settings(lab, 6), database_url=database_url(lab)))
    try:
        assert "web1's app connects to" in failing_hints(folder, CHAPTER, "app-through-pgpool")
        assert "admits the app's user from web1" in failing_hints(folder, CHAPTER, "database-refuses-direct")
    finally:
        web.deploy_release_web_server(lab, "web1", **reference_settings(lab, 7))
        pgpool.restrict_to_pooler(lab)


def test_pgpool_trusting_its_clients_is_caught(folder, lab):
    students = lab.instance("pgpool1").run(f"cat {pgpool.POOL_HBA.path}", readonly=True).stdout
    with configured(lambda pool_hba: reconfigure_pgpool(lab, pool_hba=pool_hba),
                    "host    all    all    0.0.0.0/0    trust\n" + students, students):
        hints = failing_hints(folder, CHAPTER, "scram-end-to-end")
        assert "lets clients in without SCRAM" in hints and "with a wrong password" in hints
        assert "pgpool1 runs another pool_hba.conf than your `pool_hba`" in \
            failing_hints(folder, CHAPTER, "runs-your-pool-hba", pool_hba=students)


def test_backend_lines_other_than_the_students_are_caught(folder, lab):
    students = pgpool.reference_backend_lines(lab)  # what the solution writes
    renamed = students.replace("'db1'", "'primary'")
    with configured(lambda lines: reconfigure_pgpool(lab, conf=pgpool.pgpool_conf(lines)), renamed, students):
        assert "pgpool1 runs other lines for db1 than your `backends`" in \
            failing_hints(folder, CHAPTER, "runs-your-backends", backends=students)
        assert "your backend_application_name0 is 'primary', not 'db1'" in \
            failing_hints(folder, CHAPTER, "runs-your-backends", backends=renamed)


def test_a_pool_larger_than_postgresql_allows_is_caught(folder, lab):
    reconfigure_pgpool(lab, conf=pgpool.reference_pgpool_conf(lab, size=PoolSize(num_init_children=32, max_pool=4)))
    try:
        assert "32 * 4 = 128 is more than db1 allows" in failing_hints(folder, CHAPTER, "pool-sizing")
    finally:
        reconfigure_pgpool(lab)
