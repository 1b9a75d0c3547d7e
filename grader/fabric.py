"""Chapter 04, deploying with Fabric: web1 runs release directories switched by a
`current` symlink, the app runs the release the deploy log last made live, old releases
are pruned, deploying the same code again changed nothing, and a release was rolled back
(web1's own clock and files vouch for it)."""

from __future__ import annotations

from datetime import datetime, timezone

from workshop.records import DEPLOY_LOG, Deploy

from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "04-fabric"
WEB = "web1"
APP_ROOT = "/srv/newsroom"
RELEASES = f"{APP_ROOT}/releases"
KEEP = 5
LOG_LINES = 50
#: Actions that leave a release live (a failed deploy leaves the previous one).
MADE_LIVE = ("switched", "already-live", "rollback")
#: The log's clock counts whole seconds; the switch and the line written after it may be a second or two apart.
SWITCH_CLOCK_S = 3


def _layout(target: Target) -> dict:
    """What `current` is, the releases newest first, and the deploy log's last deploys.

    One command rather than testinfra's file facts: its listdir() sorts by name, and
    release ids are content hashes, so only `ls -t` puts the newest first."""
    out = target.ssh(WEB, f"stat -c '%F %Y' {APP_ROOT}/current 2>/dev/null; echo '--'; readlink {APP_ROOT}/current; "
                          f"echo '--'; ls -1t {RELEASES} 2>/dev/null; echo '--'; tail -n {LOG_LINES} {DEPLOY_LOG} "
                          "2>/dev/null").stdout
    kind, link, listing, log = (part.strip() for part in out.split("--\n"))
    kind, _, switched_at = kind.rpartition(" ")
    return {"kind": kind, "switched_at": int(switched_at) if switched_at.isdigit() else None, "link": link,
            "releases": listing.split(), "log": Deploy.parse_log(log)}


@check(CHAPTER, "release-layout", "web1 runs a release directory through the `current` symlink", points=2)
def release_layout(target: Target, verdict: Verdict) -> None:
    layout = _layout(target)
    verdict.see(current=layout["kind"] or "missing", points_to=layout["link"], releases=len(layout["releases"]))
    if layout["kind"] == "directory":
        verdict.fail("/srv/newsroom/current is a plain directory: an in-place deploy. Deploy each release "
                     "into /srv/newsroom/releases/ID and switch a `current` symlink to it (fab deploy)")
    elif layout["kind"] != "symbolic link" or not layout["link"].startswith(RELEASES + "/"):
        verdict.fail(f"/srv/newsroom/current should be a symlink into {RELEASES}/ (it is "
                     f"{layout['kind'] or 'missing'}): run your fabfile's deploy task")


@check(CHAPTER, "live-release-is-current", "the app runs the release the deploy log last made live", points=2)
def live_release_is_current(target: Target, verdict: Verdict) -> None:
    layout = _layout(target)
    running = target.health(WEB).get("release")
    linked = _linked(layout)
    made_live = [entry for entry in layout["log"] if entry.action in MADE_LIVE]
    logged = made_live[-1].release_id if made_live else None
    verdict.see(app_reports=running, current_links=linked, last_logged_live=logged)
    if not layout["releases"]:
        raise ProbeError(f"there are no releases in {RELEASES}: run your fabfile's deploy task")
    if logged is None:
        verdict.fail(f"the deploy log {DEPLOY_LOG} names no live release: log every deploy as `DATE RELEASE_ID ACTION`")
    elif linked != logged:
        verdict.fail(f"current points to {linked}, but the deploy log's last entry made {logged} live: a deploy or "
                     "rollback switched the symlink without logging it, or logged without switching it")
    if running != linked:
        verdict.fail(f"the app still runs release {running}, not {linked}: reload Apache after switching "
                     "(systemctl reload apache2)")


@check(CHAPTER, "releases-pruned", f"at most {KEEP} releases are kept", points=1)
def releases_pruned(target: Target, verdict: Verdict) -> None:
    releases = _layout(target)["releases"]
    verdict.see(releases=releases)
    if not releases:
        raise ProbeError(f"web1 has no releases in {RELEASES}: deploy with your fabfile first")
    if len(releases) > KEEP:
        verdict.fail(f"{len(releases)} releases pile up in {RELEASES}: delete all but the newest {KEEP} after a deploy")


@check(CHAPTER, "repeat-deploy-idempotent", "deploying the same code again changed nothing", points=2)
def repeat_deploy_idempotent(target: Target, verdict: Verdict) -> None:
    layout = _layout(target)
    log = layout["log"]
    verdict.see(deploy_log=[f"{entry.release_id} {entry.action}" for entry in log])
    if len(log) < 2:
        raise ProbeError(f"the deploy log {DEPLOY_LOG} has fewer than two deploys: run your deploy task twice")
    first, second = log[-2], log[-1]
    if second.action != "already-live" or second.release_id != first.release_id:
        verdict.fail(f"the last deploy ({second.release_id} {second.action}) was not a repeat of the one before "
                     f"({first.release_id} {first.action}) that left the live release alone: deploy the same code "
                     "twice; the second run must find the release live and change nothing")


@check(CHAPTER, "rollback-restored", "a release was rolled back: the one live before it serves again", points=2)
def rollback_restored(target: Target, verdict: Verdict) -> None:
    layout = _layout(target)
    log, linked = layout["log"], _linked(layout)
    rollbacks = [index for index, entry in enumerate(log) if entry.action == "rollback"]
    if not rollbacks:
        raise ProbeError(f"the deploy log {DEPLOY_LOG} has no rollback: deploy a second release (fab deploy --label 2), "
                         "then run your rollback task")
    at = rollbacks[-1]
    restored = log[at]
    switches = [index for index in range(at) if log[index].action == "switched"]
    rolled_from = log[switches[-1]] if switches else None
    before = [entry for entry in log[:switches[-1]] if entry.action in MADE_LIVE] if switches else []
    verdict.see(rolled_back_to=restored.release_id, rolled_back_from=rolled_from and rolled_from.release_id,
                live_before_it=before[-1].release_id if before else None, current_links=linked,
                current_switched_at=layout["switched_at"], releases=layout["releases"])
    if rolled_from is None or not before or before[-1].release_id != restored.release_id:
        verdict.fail(f"the rollback made {restored.release_id} live, but the release live before the last deploy "
                     f"({rolled_from.release_id if rolled_from else 'none logged'}) was "
                     f"{before[-1].release_id if before else 'none logged'}: roll back to the release deployed before "
                     "the live one")
        return
    if rolled_from.release_id not in layout["releases"]:
        verdict.fail(f"the release rolled back from ({rolled_from.release_id}) is gone from {RELEASES}: a rollback "
                     "keeps it, to deploy again once fixed")
    later = [entry for entry in log[at + 1:] if entry.action == "switched"]
    if later:
        verdict.fail(f"a deploy switched web1 to {later[-1].release_id} after the rollback: roll back again "
                     "(your rollback task) to be graded on it")
    elif linked != restored.release_id:
        verdict.fail(f"the log says the rollback made {restored.release_id} live, but current points to {linked}: "
                     "the rollback must switch the `current` symlink")
    elif (layout["switched_at"] is None or (logged_at := _epoch(restored.at)) is None
          or abs(layout["switched_at"] - logged_at) > SWITCH_CLOCK_S):
        verdict.fail(f"current was last switched at {_when(layout['switched_at'])}, not when the log says the "
                     f"rollback ran ({restored.at}): run your rollback task, which switches it and logs it")


def _linked(layout: dict) -> str | None:
    return layout["link"].rsplit("/", 1)[-1] if layout["link"] else None


def _epoch(logged: str) -> float | None:
    """A log line's DATE (UTC, whole seconds), or None if it is no such date."""
    try:
        return datetime.strptime(logged, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _when(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else "an unknown time"
