"""Chapters 02 and 03 end to end on one real stack: the solutions autograde to
full marks, the unmodified releases to zero, and every check fails with its
specific hint on a realistic broken stack (then the stack is repaired with
the reference deploy before the next case)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.coursework import (assert_rejected_and_kept, failing_hints, grade, grade_unmodified_release, max_points,
                                  work_through)
from workshop.course import Course
from workshop.deploy import apache, postgres, web
from workshop.deploy.app import ENV_FILE
from workshop.lab import open_lab

pytestmark = pytest.mark.e2e
CH02, CH03 = "02-mod-wsgi", "03-postgresql"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([CH02, CH03])
    return course


@pytest.fixture(scope="module")
def student(tmp_path_factory, stack_name):
    return tmp_path_factory.mktemp("student")


@pytest.fixture(scope="module")
def lab(stack_name, student):
    return open_lab(stack_name, folder=student)


@pytest.fixture(scope="module")
def chapter02(student, lab):
    lab.up("web1")
    printed = work_through(CH02, student / CH02)
    assert "Chapter 02-mod-wsgi: 4/4 points" in printed and "Chapter 02-mod-wsgi: 2/2 points" in printed
    return student / CH02


class TestChapter02:
    def test_the_solutions_autograde_to_full_marks(self, course, chapter02):
        assert grade(course, CH02, "alice", chapter02) == (max_points(CH02), max_points(CH02))

    def test_the_unmodified_release_autogrades_to_zero(self, course, tmp_path):
        score, feedback = grade_unmodified_release(course, CH02, tmp_path)
        assert score == (0, max_points(CH02)) and "no stack found" in feedback

    def test_embedded_mode_is_caught(self, chapter02, lab):
        embedded = "\n".join(line for line in apache.reference_vhost().splitlines()
                             if "WSGIDaemonProcess" not in line and "WSGIProcessGroup" not in line)
        with _broken_vhost(lab, embedded):
            assert "runs embedded in Apache's workers" in failing_hints(chapter02, CH02, "daemon-mode-virtualenv")

    def test_a_daemon_without_the_virtualenv_is_caught(self, chapter02, lab):
        system_python = apache.reference_vhost().replace("python-home=/srv/newsroom/venv ", "")
        with _broken_vhost(lab, system_python):
            assert "not using the project's virtualenv" in failing_hints(chapter02, CH02, "daemon-mode-virtualenv")

    def test_apache_serving_its_default_page_is_caught(self, chapter02, lab):
        web1 = lab.instance("web1")
        web1.run("a2dissite -q newsroom && a2ensite -q 000-default && systemctl reload apache2")
        try:
            assert "serves Apache's default site" in failing_hints(chapter02, CH02, "apache-serves-app")
        finally:
            web1.run("a2dissite -q 000-default && a2ensite -q newsroom && systemctl reload apache2")

    def test_debug_on_is_caught(self, chapter02, lab):
        web1 = lab.instance("web1")
        web1.run(f"sed -i 's/^DJANGO_DEBUG=0/DJANGO_DEBUG=1/' {ENV_FILE} && systemctl restart apache2")
        try:
            web.wait_for_health(web1)
            assert "DEBUG is on" in failing_hints(chapter02, CH02, "debug-off")
        finally:
            web1.run(f"sed -i 's/^DJANGO_DEBUG=1/DJANGO_DEBUG=0/' {ENV_FILE} && systemctl restart apache2")
            web.wait_for_health(web1)

    def test_packages_installed_without_the_wheelhouse_are_caught(self, chapter02, lab):
        web1 = lab.instance("web1")
        web1.run("mv /srv/newsroom/wheelhouse /srv/newsroom/wheelhouse.moved")
        try:
            assert "no wheelhouse" in failing_hints(chapter02, CH02, "packages-from-wheelhouse")
        finally:
            web1.run("mv /srv/newsroom/wheelhouse.moved /srv/newsroom/wheelhouse")

    def test_a_load_test_of_another_stack_is_caught(self, chapter02):
        record = chapter02 / "loadtest-02-baseline.json"
        original = record.read_text()
        record.write_text(json.dumps(dict(json.loads(original), stack="someone-else")))
        try:
            assert "ran against stack someone-else" in failing_hints(chapter02, CH02, "baseline-load-test")
        finally:
            record.write_text(original)

    def test_a_missing_load_test_is_caught(self, tmp_path, chapter02, lab):
        (tmp_path / "workshop-stack.json").write_text((chapter02 / "workshop-stack.json").read_text())
        kept = lab.stack.folder / "loadtests"
        kept.rename(kept.with_name("loadtests.moved"))
        try:
            assert "no load test recorded" in failing_hints(tmp_path, CH02, "baseline-load-test")
        finally:
            kept.with_name("loadtests.moved").rename(kept)

    def test_a_vhost_apache_rejects_leaves_the_previous_one_live(self, chapter02, lab):
        web1 = lab.instance("web1")
        assert_rejected_and_kept(lambda text: apache.configure_apache(web1, text), web1, apache.SITE.path,
                                 apache.reference_vhost() + "NoSuchDirective on\n",
                                 "(?s)apachectl configtest rejected the vhost; the previous configuration stays live:\n"
                                 ".*Invalid command 'NoSuchDirective'")
        web.wait_for_health(web1)


@pytest.fixture(scope="module")
def chapter03(student, lab, chapter02):
    printed = work_through(CH03, student / CH03)
    assert "Chapter 03-postgresql: 3/3 points" in printed and "Chapter 03-postgresql: 2/2 points" in printed
    return student / CH03


class TestChapter03:
    def test_the_solution_autogrades_to_full_marks(self, course, chapter03):
        assert grade(course, CH03, "alice", chapter03) == (max_points(CH03), max_points(CH03))

    def test_the_unmodified_release_autogrades_to_zero(self, course, tmp_path):
        score, feedback = grade_unmodified_release(course, CH03, tmp_path)
        assert score == (0, max_points(CH03)) and "no stack found" in feedback

    def test_an_app_still_on_sqlite_is_caught(self, chapter03, lab):
        web.deploy_web_server(lab, "web1")
        try:
            assert "the app still uses sqlite" in failing_hints(chapter03, CH03, "app-uses-postgres-on-db1")
        finally:
            web.deploy_web_server(lab, "web1", database_url=postgres.database_url(lab))

    def test_a_database_on_the_web_server_is_caught(self, chapter03, lab):
        web1 = lab.instance("web1")
        postgres.configure_postgres(web1, postgres.reference_hba(lab, "web1"))
        postgres.create_app_database(web1, postgres.app_password(lab))
        local_url = postgres.database_url(lab).replace(lab.planned_ip("db1"), "127.0.0.1")
        web.deploy_web_server(lab, "web1", database_url=local_url)
        try:
            hints = failing_hints(chapter03, CH03, "app-uses-postgres-on-db1")
            assert "database is at 127.0.0.1, not on db1" in hints and "PostgreSQL also runs on web1" in hints
        finally:
            web1.run("systemctl disable --now -q postgresql postgresql@15-main")
            web.deploy_web_server(lab, "web1", database_url=postgres.database_url(lab))

    def test_trust_authentication_is_caught(self, chapter03, lab):
        hba = postgres.reference_hba(lab) + "host all all 0.0.0.0/0 trust\n"
        postgres.configure_postgres(lab.instance("db1"), hba)
        try:
            assert "without a hashed password" in failing_hints(chapter03, CH03, "password-authentication")
        finally:
            postgres.configure_postgres(lab.instance("db1"), postgres.reference_hba(lab))

    def test_listening_on_every_interface_is_caught(self, chapter03, lab):
        db1 = lab.instance("db1")
        db1.run("echo \"listen_addresses = '*'\" > /etc/postgresql/15/main/conf.d/zz-broken.conf "
                "&& systemctl restart postgresql@15-main")
        try:
            assert "PostgreSQL listens on 0.0.0.0" in failing_hints(chapter03, CH03, "listens-where-it-must")
        finally:
            db1.run("rm /etc/postgresql/15/main/conf.d/zz-broken.conf && systemctl restart postgresql@15-main")

    def test_a_database_without_migrations_is_caught(self, chapter03, lab):
        db1 = lab.instance("db1")
        postgres.psql(db1, "ALTER TABLE django_migrations RENAME TO django_migrations_hidden", "newsroom")
        try:
            assert "has no tables" in failing_hints(chapter03, CH03, "migrations-applied")
        finally:
            postgres.psql(db1, "ALTER TABLE django_migrations_hidden RENAME TO django_migrations", "newsroom")

    def test_a_marker_written_after_the_last_restart_is_caught(self, chapter03, lab):
        db1 = lab.instance("db1")
        postgres.psql(db1, "UPDATE articles_marker SET created_at = created_at + interval '1 day' "
                           "WHERE value = 'before-restart'", "newsroom")
        try:
            assert "has not restarted since" in failing_hints(chapter03, CH03, "survives-web-restart")
        finally:
            postgres.psql(db1, "UPDATE articles_marker SET created_at = created_at - interval '1 day' "
                               "WHERE value = 'before-restart'", "newsroom")


    def test_a_pg_hba_postgresql_rejects_leaves_the_previous_one_live(self, chapter03, lab):
        db1 = lab.instance("db1")
        assert_rejected_and_kept(lambda text: postgres.install_hba(db1, text), db1, postgres.HBA.path,
                                 postgres.reference_hba(lab) + "host all all 10.0.0.0/8 nosuchmethod\n",
                                 "PostgreSQL rejected pg_hba.conf; the previous configuration stays live:\n"
                                 '\\d+: invalid authentication method "nosuchmethod"')


class _broken_vhost:
    """Install a broken vhost for the duration of a `with`, then the reference one again."""

    def __init__(self, lab, vhost):
        self.web1, self.vhost = lab.instance("web1"), vhost

    def __enter__(self):
        apache.configure_apache(self.web1, self.vhost, restart=True)
        return self

    def __exit__(self, *exc):
        apache.configure_apache(self.web1, apache.reference_vhost(), restart=True)
        web.wait_for_health(self.web1)
