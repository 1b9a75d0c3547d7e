"""Chapter 04 end to end on the shared course stack: the student's fabfile (the
solution) deploys releases, rolls one back and autogrades to full marks; a failing
release leaves the live one serving; every check fails with its hint on a realistic
broken stack, which each test then gives back with a rollback the checks accept."""

from __future__ import annotations

import io
import tarfile
import time

import pytest

from grader.fabric import SWITCH_CLOCK_S
from tests.e2e.coursework import assert_full_marks_and_blank_zero, failing_hints
from workshop.deploy import app, postgres, web
from workshop.deploy.releases import deploy_releases, load_fabfile

pytestmark = pytest.mark.e2e
CHAPTER = "04-fabric"


def test_the_solution_autogrades_to_full_marks(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_a_release_that_fails_its_checks_is_removed_and_the_live_one_keeps_serving(folder, lab):
    web1 = lab.instance("web1")
    live = web.wait_for_health(web1)["release"]
    fabfile = load_fabfile()
    with pytest.raises(fabfile.DeployFailed, match="stays live"):
        fabfile.deploy_archive(web1.remote.connection, "badc0ffee000", _archive_with_broken_settings())
    assert web.wait_for_health(web1)["release"] == live
    assert "badc0ffee000" not in web1.run("ls /srv/newsroom/releases", readonly=True).stdout
    assert web1.run("tail -n 1 /srv/newsroom/deploys.log", readonly=True).stdout.split()[1:] == ["badc0ffee000", "failed"]
    deploy_releases(lab, ["web1"])  # the log's last two entries are a repeat deploy again


def test_an_in_place_deploy_is_caught(folder, lab):
    web.deploy_web_server(lab, "web1", database_url=postgres.database_url(lab))
    try:
        assert "in-place deploy" in failing_hints(folder, CHAPTER, "release-layout")
    finally:
        load_fabfile().deploy(lab.instance("web1").remote.connection)  # as the student's fabfile: the course's would
        _roll_back_again(lab)                                           # label its release as its own


def test_a_current_switched_by_hand_is_caught(folder, lab):
    """`current` pointed at the newer release without the deploy log saying so; put back as it was
    (its time too, which the rollback check reads)."""
    web1 = lab.instance("web1")
    live, newer = _current(web1), web1.run("ls -1t /srv/newsroom/releases | head -n 1", readonly=True).stdout.strip()
    assert live != newer, "the solution's rollback leaves the newer release beside the live one"
    switched_at = web1.run("stat -c %Y /srv/newsroom/current", readonly=True).stdout.strip()
    _switch_by_hand(web1, newer)
    try:
        assert f"current points to {newer}, but the deploy log's last entry made {live} live" in \
            failing_hints(folder, CHAPTER, "live-release-is-current")
    finally:
        _switch_by_hand(web1, live)
        web1.run(f"touch -h -d @{switched_at} /srv/newsroom/current")


def test_a_rollback_written_to_the_log_by_hand_is_caught(folder, lab):
    """A line that says "rollback" proves nothing: web1's `current` was not switched when it says."""
    web1 = lab.instance("web1")
    time.sleep(SWITCH_CLOCK_S + 1)  # well after the solution's own rollback switched `current`
    web1.run(f"echo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) {_current(web1)} rollback\" >> /srv/newsroom/deploys.log")
    try:
        assert "not when the log says the rollback ran" in failing_hints(folder, CHAPTER, "rollback-restored")
    finally:
        _roll_back_again(lab)


def test_releases_that_pile_up_are_caught(folder, lab):
    web1 = lab.instance("web1")
    web1.run("for n in 1 2 3 4 5 6; do install -d /srv/newsroom/releases/old$n && "
             "touch -d '2020-01-0'$n /srv/newsroom/releases/old$n; done")
    try:
        assert "releases pile up" in failing_hints(folder, CHAPTER, "releases-pruned")
    finally:
        web1.run("rm -rf /srv/newsroom/releases/old*")


def test_a_repeat_deploy_that_switched_again_is_caught(folder, lab):
    web1 = lab.instance("web1")
    live = web.wait_for_health(web1)["release"]
    web1.run(f"echo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) {live} switched\" >> /srv/newsroom/deploys.log")
    try:
        assert "was not a repeat" in failing_hints(folder, CHAPTER, "repeat-deploy-idempotent")
    finally:
        _roll_back_again(lab)


def _current(web1) -> str:
    return web1.run("readlink /srv/newsroom/current", readonly=True).stdout.strip().rsplit("/", 1)[-1]


def _switch_by_hand(web1, release: str) -> None:
    web1.run(f"ln -sfn /srv/newsroom/releases/{release} /srv/newsroom/current.new "
             "&& mv -T /srv/newsroom/current.new /srv/newsroom/current && systemctl reload apache2")


def _roll_back_again(lab) -> None:
    """Exercise 04's last steps with the course's fabfile, so the checks find a rollback again:
    the live code as a release labelled 2, its rollback, the live code once more."""
    connection = lab.instance("web1").remote.connection
    fabfile = load_fabfile()
    fabfile.deploy_archive(connection, *app.source_archive("2"))
    fabfile.rollback(connection)
    fabfile.deploy(connection)


def _archive_with_broken_settings() -> bytes:
    """The app's code with a syntax error in its settings: `manage.py check` must fail."""
    _, good = app.source_archive()
    source, broken = tarfile.open(fileobj=io.BytesIO(good)), io.BytesIO()
    with tarfile.open(fileobj=broken, mode="w:gz") as archive:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "newsroom/settings.py":
                data += b"\nthis is not python\n"
                member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return broken.getvalue()
