"""A service's config file, installed the way an operator should: the previous file
kept aside, the service's own checker run on the new one before the service takes it
in, and a rejected file replaced by the previous one, so a mistake never takes the
service down and the error is the checker's own diagnosis.

Example::

    put_config(lb1, nginx.SITE, site, apply="systemctl reload nginx")
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..configs import COURSE_ANSWER
from ..errors import ConfigError
from ..lab import Instance
from ..progress import Progress


@dataclass(frozen=True)
class ConfigFile:
    """Where a service's file goes and how the service judges it."""

    path: str
    #: Shell commands run once the new file is in place; they fail, printing the
    #: checker's diagnosis, when the service rejects it (apachectl configtest, nginx -t).
    check: str
    #: The start of the error: "nginx -t rejected the configuration".
    rejected: str
    #: What else to undo when a rejected file had no predecessor (a site enabled by `check`).
    drop: str = ""
    #: What to run once the previous file is back (a service `check` restarted comes back with it).
    restore: str = ""
    mode: str = "644"
    owner: str = "root:root"
    #: The systemd unit that runs on this file: the file is in place (nothing to write,
    #: check or apply) when it already holds the text and the unit is active.
    service: str = ""
    #: The default the service's Debian package copies to `path` when it is installed (memcached's
    #: postinst does, with no record in dpkg): a file still equal to it is nobody's answer.
    shipped: str = ""

    @property
    def previous(self) -> str:
        return f"{self.path}.previous"


def put_config(host: Instance, config: ConfigFile, text: str, apply: str = "") -> bool:
    """Install `text` as `config.path`, have the service check it, then run `apply`
    (reload or restart); False, doing nothing, when it is in place already. A rejected
    file is replaced by the previous one (or removed, with `config.drop`) and
    ConfigError carries the checker's output."""
    path, previous = config.path, config.previous
    if config.service and in_place(host, config, text):
        return False
    host.run(f"if test -f {path}; then cp -p {path} {previous}; else rm -f {previous}; fi")
    host.put_text(path, text, config.mode, config.owner)
    checked = host.run(f"{{ {config.check}; }} 2>&1", check=False)
    if not checked.ok:
        undo = f"rm -f {path}" + (f"; {config.drop}" if config.drop else "")
        host.run(f"if test -f {previous}; then mv {previous} {path}; else {undo}; fi"
                 + (f"; {config.restore}" if config.restore else ""), check=False)
        outcome = "is back" if config.restore else "stays live"
        raise ConfigError(f"{config.rejected}; the previous configuration {outcome}:\n{checked.stdout.strip()}")
    if apply:
        host.run(apply)
    return True


def in_place(host: Instance, config: ConfigFile, text: str) -> bool:
    """Whether `config.path` holds `text` and `config.service` is active (one command)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    probe = host.run(f"sha256sum < {config.path} 2>/dev/null; systemctl is-active -q {config.service} && echo active",
                     readonly=True, check=False).stdout.split()
    return probe == [digest, "-", "active"]


def keeping_own(host: Instance, config: ConfigFile, course: str, progress: Progress) -> str:
    """What a reference deploy installs at `config.path`: the file `host` runs already when the
    student wrote it (an exercise's answer without the course's first line, and not the default
    its Debian package put there, `config.shipped`), so that catch-up never takes the points
    of the student's own vhost, nginx site, memcached configuration or VCL; else `course`."""
    if not course.startswith(COURSE_ANSWER):
        return course
    live = host.run(f"cat {config.path}", readonly=True, check=False)
    if not live.ok or not live.stdout.strip() or live.stdout.startswith(COURSE_ANSWER):
        return course
    if config.shipped and host.run(f"cmp -s {config.path} {config.shipped}", readonly=True, check=False).ok:
        return course
    progress.say(host.name, f"keeping your own {config.path} (your exercise's answer); to get the course's "
                            f"instead, delete it (workshop ssh {host.name} rm {config.path}) and catch up again")
    return live.stdout

