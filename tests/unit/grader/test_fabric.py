"""Chapter 04's checks on a scripted stack: each passes on a web1 deployed by release directories and names the
fix when broken. (The checks are found by chapter id: their module's name is not part of the contract.)"""

import pytest

from grader.result import PASSED

from .kit import assert_hint, check_ids, health, run

CHAPTER = "04-fabric"
LOG = "1780000000 r1 deployed\n1780000100 r2 deployed\n1780000200 r2 already-live\n"


def layout(kind="symbolic link", link="/srv/newsroom/releases/r2", releases=("r2", "r1"), log=LOG):
    """What the layout probe prints: `current`'s kind and target, the releases newest first, the deploy log."""
    return f"{kind}\n--\n{link}\n--\n" + "".join(f"{r}\n" for r in releases) + f"--\n{log}"


@pytest.fixture
def healthy(target):
    target.on_ssh("web1", "stat -c %F", layout())
    target.on_http("web1", "/health/", health(release="r2"))
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_on_a_release_layout(healthy, check_id):
    result = run(healthy, CHAPTER, check_id)
    assert (result.status, result.hints) == (PASSED, [])


@pytest.mark.parametrize("check_id, probe_prints, hint", [
    ("release-layout", layout(kind="directory", link="", releases=()),
     "/srv/newsroom/current is a plain directory: an in-place deploy"),
    ("release-layout", layout(kind="", link="", releases=()),
     "/srv/newsroom/current should be a symlink into /srv/newsroom/releases/ (it is missing)"),
    ("live-release-is-newest", layout(releases=()), "there are no releases in /srv/newsroom/releases"),
    ("live-release-is-newest", layout(releases=("r3", "r2", "r1")), "current points to r2, but the newest release is r3"),
    ("live-release-is-newest", layout(link="/srv/newsroom/releases/r3", releases=("r3", "r2")),
     "the app still runs release r2, not r3: reload Apache"),
    ("releases-pruned", layout(releases=()), "web1 has no releases in /srv/newsroom/releases"),
    ("releases-pruned", layout(releases=("r7", "r6", "r5", "r4", "r3", "r2")), "6 releases pile up"),
    ("repeat-deploy-idempotent", layout(log="1780000000 r1 deployed\n"),
     "the deploy log /srv/newsroom/deploys.log has fewer than two deploys"),
    ("repeat-deploy-idempotent", layout(log=LOG.replace("r2 already-live", "r3 deployed")),
     "the last deploy (r3 deployed) was not a repeat of the one before (r2 deployed)"),
])
def test_each_hint_names_the_fix(healthy, check_id, probe_prints, hint):
    healthy.on_ssh("web1", "stat -c %F", probe_prints)
    assert_hint(run(healthy, CHAPTER, check_id), hint)
