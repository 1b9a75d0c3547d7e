"""The students' Unix accounts on a shared classroom server: one per student, in a group of
the class's own, so that each student's files, key and JupyterLab are theirs alone.

Root never writes into a student's home itself: a student owns it and could plant a symlink
there. What a student receives is written by a process running as that student (`runuser`),
which can reach nothing the student could not.

Example::

    created = ensure_account("fall-alice", "Alice Martin", "workshop-fall")
    hand_over("fall-alice", {"workshop/CONNECT.txt": b"..."})
"""

from __future__ import annotations

import grp
import io
import pwd
import re
import subprocess
import tarfile
import time
from pathlib import Path

from ..errors import WorkshopError

#: Debian's useradd accepts more; this is what is safe everywhere (ssh, sudo, PAM, JupyterHub URLs).
ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def check_account_name(name: str) -> str:
    if not ACCOUNT_NAME.match(name):
        raise WorkshopError(f"{name!r} cannot be a Unix account name (a lowercase letter, then up to 31 lowercase "
                            "letters, digits or '-'): choose another class name with --name")
    return name


def _run(command: list[str], stdin: bytes | None = None) -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=60)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise WorkshopError(f"`{' '.join(command[:2])} ...` failed: {said or f'exit {result.returncode}'}")


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def members(group: str) -> set[str]:
    """The accounts whose group list holds `group` (empty when the group does not exist)."""
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        return set()


def ensure_group(group: str) -> None:
    check_account_name(group)
    try:
        grp.getgrnam(group)
    except KeyError:
        _run(["groupadd", "--system", group])


def ensure_account(name: str, full_name: str, group: str) -> bool:
    """Create `name` (home 0700, in `group`); True when created now. An account of that name
    that is not in the class's group belongs to someone else and is never taken over."""
    check_account_name(name)
    if exists(name):
        if name not in members(group):
            raise WorkshopError(f"A Unix account {name!r} already exists and is not one of this class's (group "
                                f"{group}): remove it, or choose another class name with --name")
        return False
    comment = re.sub(r"[:,=\n]", " ", full_name)[:60]
    _run(["useradd", "--create-home", "--user-group", "--groups", group, "--shell", "/bin/bash",
          "--comment", comment, name])
    _run(["chmod", "0700", pwd.getpwnam(name).pw_dir])
    return True


def set_password(name: str, password: str) -> None:
    """Over stdin (chpasswd), so the password is never on a command line."""
    _run(["chpasswd"], stdin=f"{name}:{password}\n".encode())


def hand_over(name: str, files: dict[str, tuple[bytes, int]]) -> None:
    """Write `files` ({path under the home: (content, mode)}) into `name`'s home as `name`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), mode, int(time.time())
            archive.addfile(info, io.BytesIO(content))
    _run(["runuser", "-u", name, "--", "tar", "-x", "-f", "-", "-C", str(home(name)), "--no-same-owner"],
         stdin=buffer.getvalue())


def remove_account(name: str, group: str) -> None:
    """Delete `name` and its home, only when it is one of this class's accounts."""
    if exists(name) and name in members(group):
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, timeout=30)
        _run(["userdel", "--remove", name])


def remove_group(group: str) -> None:
    """Delete the class's group once no account is left in it."""
    try:
        grp.getgrnam(group)
    except KeyError:
        return
    if not members(group):
        _run(["groupdel", group])
