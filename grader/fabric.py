"""Chapter 04, deploying with Fabric: web1 runs release directories switched by a
`current` symlink, the live release is the newest one, old releases are pruned,
and deploying the same code again changed nothing."""

from __future__ import annotations

from workshop.records import DEPLOY_LOG, Deploy

from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "04-fabric"
WEB = "web1"
APP_ROOT = "/srv/newsroom"
RELEASES = f"{APP_ROOT}/releases"
KEEP = 5


def _layout(target: Target) -> dict:
    """What `current` is, the releases newest first, and the deploy log's last deploys.

    One command rather than testinfra's file facts: its listdir() sorts by name, and
    release ids are content hashes, so only `ls -t` puts the newest first."""
    out = target.ssh(WEB, f"stat -c %F {APP_ROOT}/current 2>/dev/null; echo '--'; readlink {APP_ROOT}/current; "
                          f"echo '--'; ls -1t {RELEASES} 2>/dev/null; echo '--'; tail -n 5 {DEPLOY_LOG} "
                          "2>/dev/null").stdout
    kind, link, listing, log = (part.strip() for part in out.split("--\n"))
    return {"kind": kind, "link": link, "releases": listing.split(), "log": Deploy.parse_log(log)}


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


@check(CHAPTER, "live-release-is-newest", "the release the app reports is the newest one deployed", points=2)
def live_release_is_newest(target: Target, verdict: Verdict) -> None:
    layout = _layout(target)
    running = target.health(WEB).get("release")
    newest = layout["releases"][0] if layout["releases"] else None
    linked = layout["link"].rsplit("/", 1)[-1] if layout["link"] else None
    verdict.see(app_reports=running, current_links=linked, newest=newest)
    if newest is None:
        raise ProbeError(f"there are no releases in {RELEASES}: run your fabfile's deploy task")
    if linked != newest:
        verdict.fail(f"current points to {linked}, but the newest release is {newest}: a deploy did not switch "
                     "the symlink (or you rolled back: deploy again)")
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
