"""Chapter 04's checks on a scripted stack: each passes on a web1 deployed by release directories and names the
fix when broken. (The checks are found by chapter id: their module's name is not part of the contract.)"""

import pytest

from grader.result import PASSED

from .kit import assert_hint, check_ids, health, run

CHAPTER = "04-fabric"
#: Exercise 04 as a student runs it: deploy, deploy again, a release labelled 2, its rollback, deploy once more.
LOG = ("2026-06-01T10:00:00Z r1 switched\n2026-06-01T10:01:00Z r1 already-live\n2026-06-01T10:02:00Z r2 switched\n"
       "2026-06-01T10:03:00Z r1 rollback\n2026-06-01T10:04:00Z r1 already-live\n")
ROLLED_BACK_AT = 1780308181  # 2026-06-01T10:03:01Z: `current` switched, then the line logged a second later


def layout(kind="symbolic link", link="/srv/newsroom/releases/r1", releases=("r2", "r1"), log=LOG,
           switched_at=ROLLED_BACK_AT):
    """What the layout probe prints: `current`'s kind, when it was switched and its target, the releases newest
    first, the deploy log."""
    stat = f"{kind} {switched_at}" if kind else ""
    return f"{stat}\n--\n{link}\n--\n" + "".join(f"{r}\n" for r in releases) + f"--\n{log}"


@pytest.fixture
def healthy(target):
    target.on_ssh("web1", "stat -c '%F %Y'", layout())
    target.on_http("web1", "/health/", health(release="r1"))
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_on_a_release_layout(healthy, check_id):
    result = run(healthy, CHAPTER, check_id)
    assert (result.status, result.hints) == (PASSED, [])


NO_ROLLBACK = LOG.replace("r1 rollback", "r2 already-live").replace("10:04:00Z r1 already-live", "10:04:00Z r2 already-live")


@pytest.mark.parametrize("check_id, probe_prints, hint", [
    ("release-layout", layout(kind="directory", link="", releases=()),
     "/srv/newsroom/current is a plain directory: an in-place deploy"),
    ("release-layout", layout(kind="", link="", releases=()),
     "/srv/newsroom/current should be a symlink into /srv/newsroom/releases/ (it is missing)"),
    ("live-release-is-current", layout(releases=()), "there are no releases in /srv/newsroom/releases"),
    ("live-release-is-current", layout(link="/srv/newsroom/releases/r2"),
     "current points to r2, but the deploy log's last entry made r1 live"),
    ("live-release-is-current", layout(log="not a deploy line\n"), "the deploy log /srv/newsroom/deploys.log names "
                                                                   "no live release"),
    ("releases-pruned", layout(releases=()), "web1 has no releases in /srv/newsroom/releases"),
    ("releases-pruned", layout(releases=("r7", "r6", "r5", "r4", "r3", "r2")), "6 releases pile up"),
    ("repeat-deploy-idempotent", layout(log="2026-06-01T10:00:00Z r1 switched\n"),
     "the deploy log /srv/newsroom/deploys.log has fewer than two deploys"),
    ("repeat-deploy-idempotent", layout(log=LOG.replace("r1 already-live\n", "r3 switched\n")),
     "the last deploy (r3 switched) was not a repeat of the one before (r1 rollback)"),
    ("rollback-restored", layout(link="/srv/newsroom/releases/r2", log=NO_ROLLBACK),
     "the deploy log /srv/newsroom/deploys.log has no rollback: deploy a second release (fab deploy --label 2)"),
    ("rollback-restored", layout(log=LOG.replace("r1 rollback", "r3 rollback")),
     "the rollback made r3 live, but the release live before the last deploy (r2) was r1"),
    ("rollback-restored", layout(releases=("r1",)), "the release rolled back from (r2) is gone"),
    ("rollback-restored", layout(link="/srv/newsroom/releases/r3", releases=("r3", "r2", "r1"),
                                 log=LOG + "2026-06-01T10:05:00Z r3 switched\n"),
     "a deploy switched web1 to r3 after the rollback: roll back again"),
    ("rollback-restored", layout(link="/srv/newsroom/releases/r2"),
     "the log says the rollback made r1 live, but current points to r2"),
    ("rollback-restored", layout(switched_at=ROLLED_BACK_AT - 120),
     "current was last switched at 2026-06-01T10:01:01Z, not when the log says the rollback ran (2026-06-01T10:03:00Z)"),
    ("rollback-restored", layout(log=LOG.replace("2026-06-01T10:03:00Z", "yesterday")), "not when the log says"),
])
def test_each_hint_names_the_fix(healthy, check_id, probe_prints, hint):
    healthy.on_ssh("web1", "stat -c '%F %Y'", probe_prints)
    assert_hint(run(healthy, CHAPTER, check_id), hint)
