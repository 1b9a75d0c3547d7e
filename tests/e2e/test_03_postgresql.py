"""Chapter 03 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and every check fails with its specific hint
on a realistic broken stack (then the stack is repaired with the reference deploy
before the next case)."""

from __future__ import annotations

import pytest

from tests.e2e.coursework import assert_rejected_and_kept, failing_hints, grade, grade_unmodified_release, max_points, instructors_record
from workshop.deploy import postgres, web

pytestmark = pytest.mark.e2e
CHAPTER = "03-postgresql"


def test_the_solution_autogrades_to_full_marks(course, folder):
    assert grade(course, CHAPTER, "alice", folder, instructors_record()) == (max_points(CHAPTER), max_points(CHAPTER))


def test_the_unmodified_release_autogrades_to_zero(course, tmp_path):
    score, feedback = grade_unmodified_release(course, CHAPTER, tmp_path)
    assert score == (0, max_points(CHAPTER)) and "no stack found" in feedback


def test_an_app_still_on_sqlite_is_caught(folder, lab):
    web.deploy_web_server(lab, "web1")
    try:
        assert "the app still uses sqlite" in failing_hints(folder, CHAPTER, "app-uses-postgres-on-db1")
    finally:
        web.deploy_web_server(lab, "web1", database_url=postgres.database_url(lab))


def test_a_database_on_the_web_server_is_caught(folder, lab):
    web1 = lab.instance("web1")
    postgres.configure_postgres(web1, postgres.reference_hba(lab, "web1"))
    postgres.create_app_database(web1, postgres.app_password(lab))
    local_url = postgres.database_url(lab).replace(lab.planned_ip("db1"), "127.0.0.1")
    web.deploy_web_server(lab, "web1", database_url=local_url)
    try:
        hints = failing_hints(folder, CHAPTER, "app-uses-postgres-on-db1")
        assert "database is at 127.0.0.1, not on db1" in hints and "PostgreSQL also runs on web1" in hints
    finally:
        web1.run("systemctl disable --now -q postgresql postgresql@15-main")
        web.deploy_web_server(lab, "web1", database_url=postgres.database_url(lab))


def test_trust_authentication_is_caught(folder, lab):
    hba = postgres.reference_hba(lab) + "host all all 0.0.0.0/0 trust\n"
    postgres.configure_postgres(lab.instance("db1"), hba)
    try:
        assert "without a hashed password" in failing_hints(folder, CHAPTER, "password-authentication")
    finally:
        postgres.configure_postgres(lab.instance("db1"), postgres.reference_hba(lab))


def test_listening_on_every_interface_is_caught(folder, lab):
    db1 = lab.instance("db1")
    db1.run("echo \"listen_addresses = '*'\" > /etc/postgresql/15/main/conf.d/zz-broken.conf "
            "&& systemctl restart postgresql@15-main")
    try:
        assert "PostgreSQL listens on 0.0.0.0" in failing_hints(folder, CHAPTER, "listens-where-it-must")
    finally:
        db1.run("rm /etc/postgresql/15/main/conf.d/zz-broken.conf && systemctl restart postgresql@15-main")


def test_a_database_without_migrations_is_caught(folder, lab):
    db1 = lab.instance("db1")
    postgres.psql(db1, "ALTER TABLE django_migrations RENAME TO django_migrations_hidden", "newsroom")
    try:
        assert "has no tables" in failing_hints(folder, CHAPTER, "migrations-applied")
    finally:
        postgres.psql(db1, "ALTER TABLE django_migrations_hidden RENAME TO django_migrations", "newsroom")


def test_a_pg_hba_postgresql_rejects_leaves_the_previous_one_live(folder, lab):
    db1 = lab.instance("db1")
    assert_rejected_and_kept(lambda text: postgres.install_hba(db1, text), db1, postgres.HBA.path,
                             postgres.reference_hba(lab) + "host all all 10.0.0.0/8 nosuchmethod\n",
                             "PostgreSQL rejected pg_hba.conf; the previous configuration stays live:\n"
                             '\\d+: invalid authentication method "nosuchmethod"')


def test_a_marker_written_after_the_last_restart_is_caught(folder, lab):
    db1 = lab.instance("db1")
    postgres.psql(db1, "UPDATE articles_marker SET created_at = created_at + interval '1 day' "
                       "WHERE value = 'before-restart'", "newsroom")
    try:
        assert "has not restarted since" in failing_hints(folder, CHAPTER, "survives-web-restart")
    finally:
        postgres.psql(db1, "UPDATE articles_marker SET created_at = created_at - interval '1 day' "
                           "WHERE value = 'before-restart'", "newsroom")
