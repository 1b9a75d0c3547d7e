"""The app's Python packages as a wheelhouse, built on the host and pushed to
instances: they never reach PyPI (air-gapped classrooms, and these machines)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

from ..errors import WorkshopError
from ..progress import Progress
from ..stack import workshop_home

REQUIREMENTS = Path(__file__).resolve().parents[2] / "exampleapp" / "requirements.txt"
#: Instances run Debian 12's CPython 3.11 on x86_64 with glibc 2.36: fetch wheels
#: for that, not for the host (Pillow 13 ships manylinux_2_28 wheels only).
PLATFORM_ARGS = (
    "--only-binary=:all:",
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_34_x86_64",
    "--python-version", "3.11", "--implementation", "cp",
    "--abi", "cp311", "--abi", "abi3", "--abi", "none",
)


def requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]


def build_wheelhouse(progress: Progress) -> Path:
    """The wheelhouse for the current requirements, downloaded once and cached."""
    folder = workshop_home() / "wheelhouse" / requirements_digest()
    if (folder / ".complete").exists():
        return folder
    progress.say("wheelhouse", f"downloading the app's wheels into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", *PLATFORM_ARGS,
         "--dest", str(folder), "--requirement", str(REQUIREMENTS)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("WARNING"))
        raise WorkshopError(f"Building the wheelhouse failed (PyPI must be reachable from this machine):\n"
                            f"{errors.strip()[-2000:]}")
    (folder / "requirements.txt").write_bytes(REQUIREMENTS.read_bytes())
    (folder / ".complete").touch()
    return folder


def wheelhouse_archive(folder: Path) -> bytes:
    """The wheelhouse as a tar archive (wheels are compressed already)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.iterdir()):
            if not path.name.startswith("."):
                archive.add(path, arcname=path.name)
    return buffer.getvalue()
