"""Chapter 02 end to end on the shared course stack: the solutions autograde to full
marks, the unmodified release to zero, and every check fails with its specific hint
on a realistic broken stack (then the stack is repaired with the reference deploy
before the next case)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.coursework import as_students, assert_rejected_and_kept, failing_hints, grade, grade_unmodified_release, instructors_record, max_points
from workshop.deploy import apache, web
from workshop.deploy.app import ENV_FILE

pytestmark = pytest.mark.e2e
CHAPTER = "02-mod-wsgi"


def test_the_solutions_autograde_to_full_marks(course, folder):
    assert grade(course, CHAPTER, "alice", folder, instructors_record()) == (max_points(CHAPTER), max_points(CHAPTER))


def test_the_unmodified_release_autogrades_to_zero(course, tmp_path):
    score, feedback = grade_unmodified_release(course, CHAPTER, tmp_path)
    assert score == (0, max_points(CHAPTER)) and "no stack found" in feedback


def test_embedded_mode_is_caught(folder, lab):
    embedded = "\n".join(line for line in as_students(apache.reference_vhost()).splitlines()
                         if "WSGIDaemonProcess" not in line and "WSGIProcessGroup" not in line)
    with _broken_vhost(lab, embedded):
        assert "runs embedded in Apache's workers" in failing_hints(folder, CHAPTER, "daemon-mode-virtualenv")


def test_a_daemon_without_the_virtualenv_is_caught(folder, lab):
    system_python = as_students(apache.reference_vhost()).replace("python-home=/srv/newsroom/venv ", "")
    with _broken_vhost(lab, system_python):
        assert "not using the project's virtualenv" in failing_hints(folder, CHAPTER, "daemon-mode-virtualenv")


def test_apache_serving_its_default_page_is_caught(folder, lab):
    web1 = lab.instance("web1")
    web1.run("a2dissite -q newsroom && a2ensite -q 000-default && systemctl reload apache2")
    try:
        assert "serves Apache's default site" in failing_hints(folder, CHAPTER, "apache-serves-app")
    finally:
        web1.run("a2dissite -q 000-default && a2ensite -q newsroom && systemctl reload apache2")


def test_a_vhost_that_stops_apache_is_the_root_cause_in_apaches_words(folder, lab):
    """Edited by hand on web1 (no configtest) and restarted: Apache fails to start, and every check
    of the chapter says so, quoting Apache's own error, instead of "nothing answers HTTP"."""
    web1 = lab.instance("web1")
    typo = as_students(apache.reference_vhost()).replace("WSGIProcessGroup", "WSGIProcesGroup")
    web1.put_text(apache.SITE.path, typo)
    web1.run("systemctl restart apache2", check=False)
    try:
        hints = failing_hints(folder, CHAPTER, "apache-serves-app")
        assert "not checked: apache2 on web1 is failed; its log says:" in hints and "WSGIProcesGroup" in hints
        assert "nothing answers HTTP" not in hints
    finally:
        apache.configure_apache(web1, as_students(apache.reference_vhost()), restart=True)
        web.wait_for_health(web1)


def test_debug_on_is_caught(folder, lab):
    web1 = lab.instance("web1")
    web1.run(f"sed -i 's/^DJANGO_DEBUG=0/DJANGO_DEBUG=1/' {ENV_FILE} && systemctl restart apache2")
    try:
        web.wait_for_health(web1)
        assert "DEBUG is on" in failing_hints(folder, CHAPTER, "debug-off")
    finally:
        web1.run(f"sed -i 's/^DJANGO_DEBUG=1/DJANGO_DEBUG=0/' {ENV_FILE} && systemctl restart apache2")
        web.wait_for_health(web1)


def test_packages_installed_without_the_wheelhouse_are_caught(folder, lab):
    web1 = lab.instance("web1")
    web1.run("mv /srv/newsroom/wheelhouse /srv/newsroom/wheelhouse.moved")
    try:
        assert "no wheelhouse" in failing_hints(folder, CHAPTER, "packages-from-wheelhouse")
    finally:
        web1.run("mv /srv/newsroom/wheelhouse.moved /srv/newsroom/wheelhouse")


def test_a_vhost_apache_rejects_leaves_the_previous_one_live(folder, lab):
    web1 = lab.instance("web1")
    assert_rejected_and_kept(lambda text: apache.configure_apache(web1, text), web1, apache.SITE.path,
                             as_students(apache.reference_vhost()) + "NoSuchDirective on\n",
                             "(?s)apachectl configtest rejected the vhost; the previous configuration stays live:\n"
                             ".*Invalid command 'NoSuchDirective'")
    web.wait_for_health(web1)


def test_a_load_test_of_another_stack_is_caught(folder):
    record = folder / "loadtest-02-baseline.json"
    original = record.read_text()
    record.write_text(json.dumps(dict(json.loads(original), stack="someone-else")))
    try:
        assert "ran against stack someone-else" in failing_hints(folder, CHAPTER, "baseline-load-test")
    finally:
        record.write_text(original)


@pytest.mark.parametrize("edit, hint", [
    (lambda test: {**test, "requests": test["requests"] * 2, "throughput_rps": test["throughput_rps"] * 2},
     "requests, but web1's access log shows"),
    (lambda test: {**test, "run_id": uuid.uuid4().hex}, "web1's access log shows no request of the recorded load"),
    (lambda test: {key: value for key, value in test.items() if key != "run_id"}, "has no run id"),
])
def test_an_edited_baseline_record_is_caught_by_web1s_log(folder, tmp_path, edit, hint):
    """The baseline the solution recorded, edited beside a copy of the notebook's descriptor."""
    (tmp_path / "workshop-stack.json").write_text((folder / "workshop-stack.json").read_text())
    record = folder / "loadtest-02-baseline.json"
    (tmp_path / record.name).write_text(json.dumps(edit(json.loads(record.read_text()))))
    assert hint in failing_hints(tmp_path, CHAPTER, "baseline-load-test")


def test_a_missing_load_test_is_caught(tmp_path, folder, lab):
    (tmp_path / "workshop-stack.json").write_text((folder / "workshop-stack.json").read_text())
    kept = lab.stack.folder / "loadtests"
    kept.rename(kept.with_name("loadtests.moved"))
    try:
        assert "no load test recorded" in failing_hints(tmp_path, CHAPTER, "baseline-load-test")
    finally:
        kept.with_name("loadtests.moved").rename(kept)


class _broken_vhost:
    """Install a broken vhost for the duration of a `with`, then the reference one again."""

    def __init__(self, lab, vhost):
        self.web1, self.vhost = lab.instance("web1"), vhost

    def __enter__(self):
        apache.configure_apache(self.web1, self.vhost, restart=True)
        return self

    def __exit__(self, *exc):
        apache.configure_apache(self.web1, as_students(apache.reference_vhost()), restart=True)
        web.wait_for_health(self.web1)
