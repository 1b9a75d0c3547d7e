"""Can this machine boot the whole class? A check for the local provider before `class up`.

Every local machine is a systemd container, and each one holds 6 inotify
instances (systemd 4, logind 1, dbus 1; measured). All containers count
against the kernel's per-user limit, fs.inotify.max_user_instances, 128 on
Debian: about 21 machines, two full stacks. Past it, a new machine hangs at
boot (`systemctl is-system-running --wait` times out) with no better message,
so a classroom server must raise the limit before the class starts.

Example::

    inotify_shortfall(30)
    # -> 'fs.inotify.max_user_instances is 128: ...'
"""

from __future__ import annotations

from pathlib import Path

INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_MACHINE = 6
#: Machines in a stack at the end of the course (docs/design.md §4).
MACHINES_PER_STACK = 10
#: What the host itself (and other users of the machine) may hold.
HOST_HEADROOM = 128


def inotify_needed(students: int) -> int:
    return students * MACHINES_PER_STACK * INOTIFY_PER_MACHINE + HOST_HEADROOM


def inotify_shortfall(students: int, limit_file: Path = INOTIFY_LIMIT) -> str | None:
    """Why `students` full local stacks would not boot here, with the fix; None when they fit."""
    try:
        limit = int(limit_file.read_text())
    except (OSError, ValueError):
        return None  # not Linux, or hidden from us: nothing to check
    needed = inotify_needed(students)
    if limit >= needed:
        return None
    return (f"fs.inotify.max_user_instances is {limit}: about {limit // INOTIFY_PER_MACHINE} local machines can boot "
            f"here, {students} full stacks need {students * MACHINES_PER_STACK}; past the limit machines hang at boot. "
            f"Raise it first: sysctl -w fs.inotify.max_user_instances={needed} "
            "(and keep it in /etc/sysctl.d/90-workshop.conf)")
