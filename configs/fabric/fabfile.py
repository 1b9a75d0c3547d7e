"""The newsroom's fabfile: atomic releases on the web servers (Fabric 3).

    fab -S SSH_CONFIG -H web1,web2 deploy         build, upload, install, migrate, switch, reload
    fab -S SSH_CONFIG -H web1 deploy --label 2    the same, as another release of the same code
    fab -S SSH_CONFIG -H web1 rollback            switch back to the previous release
    fab -S SSH_CONFIG -H web1 releases            list the releases, the live one marked

Each release is a directory /srv/newsroom/releases/ID; /srv/newsroom/current is a
symlink to the live one, switched by a rename, which is atomic: a request sees the
old release or the new one, never half of each. Apache then reloads gracefully, so
running requests finish on the old code. A release that fails to install, pass
Django's checks or migrate is deleted and the live one stays. The ID is a digest of
the code: deploying the same code twice changes nothing.
"""

import io

from fabric import task
from invoke.exceptions import UnexpectedExit

from workshop.deploy.app import (APP_ROOT, CURRENT, ConnectionHost, install_virtualenv, manage, push_wheelhouse,
                                 source_archive)
from workshop.errors import WorkshopError
from workshop.progress import Progress

RELEASES = f"{APP_ROOT}/releases"
DEPLOY_LOG = f"{APP_ROOT}/deploys.log"
KEEP = 5


class DeployFailed(WorkshopError):
    """A release that did not go live; the previous one still serves."""


def live_release(c):
    """The ID of the release `current` points to (None after an in-place deploy)."""
    target = c.run(f"readlink {CURRENT}", warn=True, hide=True).stdout.strip()
    return target.rsplit("/", 1)[-1] if target.startswith(RELEASES + "/") else None


def releases_newest_first(c):
    listing = c.run(f"ls -1t {RELEASES} 2>/dev/null", warn=True, hide=True).stdout
    return listing.split()


def log(c, release_id, action):
    c.run(f'echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) {release_id} {action}" >> {DEPLOY_LOG}', hide=True)


def switch_to(c, release_id):
    """Point `current` at the release with one rename, then reload Apache gracefully."""
    release = f"{RELEASES}/{release_id}"
    c.run(f"if [ -d {CURRENT} ] && [ ! -L {CURRENT} ]; then rm -rf {CURRENT}; fi; "
          f"ln -sfn {release} {CURRENT}.new && mv -T {CURRENT}.new {CURRENT}", hide=True)
    c.run("systemctl reload apache2", hide=True)


@task
def deploy(c, label=""):
    """Deploy the code of exampleapp/ (with `label`, another release of it) as a new release,
    unless it is live already."""
    release_id, archive = source_archive(label)
    return deploy_archive(c, release_id, archive)


def deploy_archive(c, release_id, archive):
    host = ConnectionHost(c)
    progress = Progress(f"deploy {host.name}")
    if live_release(c) == release_id:
        log(c, release_id, "already-live")
        progress.say(host.name, f"release {release_id} is live already: nothing to do")
        return release_id
    release = f"{RELEASES}/{release_id}"
    push_wheelhouse(host, progress)
    install_virtualenv(host, progress)
    progress.say(host.name, f"uploading release {release_id}")
    c.put(io.BytesIO(archive), "/tmp/newsroom-release.tar.gz")
    c.run(f"rm -rf {release} && install -d {release} && tar -xzf /tmp/newsroom-release.tar.gz -C {release} "
          "&& rm /tmp/newsroom-release.tar.gz", hide=True)
    try:
        manage(host, "check --deploy --fail-level ERROR", app_dir=release)
        manage(host, "migrate --noinput", app_dir=release)
        manage(host, "collectstatic --noinput --verbosity 0", app_dir=release)
    except UnexpectedExit as failure:
        c.run(f"rm -rf {release}", hide=True)
        log(c, release_id, "failed")
        raise DeployFailed(f"release {release_id} failed on {host.name}; {live_release(c) or 'the previous code'} "
                           f"stays live:\n{failure.result.stderr.strip()[-2000:]}") from None
    switch_to(c, release_id)
    log(c, release_id, "switched")
    for old in releases_newest_first(c)[KEEP:]:
        c.run(f"rm -rf {RELEASES}/{old}", hide=True)
    progress.done(f"release {release_id} is live")
    return release_id


@task
def rollback(c):
    """Switch back to the release deployed before the live one."""
    live, history = live_release(c), releases_newest_first(c)
    older = history[history.index(live) + 1:] if live in history else []
    if not older:
        raise DeployFailed(f"{c.original_host} has no release older than {live} to roll back to")
    switch_to(c, older[0])
    log(c, older[0], "rollback")
    print(f"{c.original_host}: rolled back from {live} to {older[0]}")
    return older[0]


@task
def releases(c):
    """List the releases, newest first; the live one is marked with '*'."""
    live = live_release(c)
    for release_id in releases_newest_first(c):
        print(f"{'*' if release_id == live else ' '} {release_id}")
