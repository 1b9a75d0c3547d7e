"""The workshop image: Debian bookworm with systemd, sshd and every course server.

No container registry is reachable in class or here, so the base layer is
made with debootstrap from the Debian mirror the host already uses, and the
image is built from Debian packages on top of it. Both are cached: an image
is tagged with a digest of its definition and rebuilt only when that changes.

Example::

    ensure_image(find_engine())
    # -> 'localhost/workshop-machine:3f2a9c01b7d4'
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

from . import machine
from .engine import Engine
from .errors import ImageBuildError
from .progress import Progress

IMAGE_REPO = "localhost/workshop-machine"
BASE_REPO = "localhost/workshop-base"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_FILES = ("Containerfile.j2", "ssh-host-keys.conf", "sshd-workshop.conf")


def host_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt uses (so the build works wherever apt works)."""
    files = sorted(sources_dir.glob("sources.list.d/*.sources")) + sorted(sources_dir.glob("sources.list.d/*.list"))
    files.insert(0, sources_dir / "sources.list")
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if "sources" in path.suffix:
            for block in text.split("\n\n"):
                uris = re.search(r"^URIs:\s*(\S+)", block, re.M)
                suites = re.search(r"^Suites:\s*(.+)$", block, re.M)
                if uris and suites and machine.OS_CODENAME in suites.group(1).split():
                    return uris.group(1).rstrip("/")
        else:
            for line in text.splitlines():
                match = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + machine.OS_CODENAME + r"\s", line)
                if match:
                    return match.group(1).rstrip("/")
    return DEFAULT_MIRROR


def base_tag(mirror: str) -> str:
    digest = hashlib.sha256(f"{machine.OS_CODENAME} minbase {mirror}".encode()).hexdigest()[:12]
    return f"{BASE_REPO}:{machine.OS_CODENAME}-{digest}"


def _asset(name: str):
    return resources.files("workshop") / "image" / name


def render(base_image: str, digest: str = "") -> str:
    template = _asset("Containerfile.j2").read_text()
    return jinja2.Template(template, undefined=jinja2.StrictUndefined, keep_trailing_newline=True).render(
        base_image=base_image,
        packages=machine.PACKAGES,
        disabled_services=machine.DISABLED_SERVICES + machine.DISABLED_TIMERS,
        digest=digest,
    )


def definition_digest(base_image: str) -> str:
    """A digest of everything the image is built from: change any of it, get a new tag."""
    sha = hashlib.sha256(render(base_image).encode())
    for name in _FILES[1:]:
        sha.update(_asset(name).read_bytes())
    return sha.hexdigest()[:12]


def image_tag(mirror: str | None = None) -> str:
    base = base_tag(mirror or host_mirror())
    return f"{IMAGE_REPO}:{definition_digest(base)}"


def ensure_image(engine: Engine, progress: Progress | None = None, mirror: str | None = None) -> str:
    """The tag of an up-to-date workshop image, building it (and its base) if needed."""
    progress = progress or Progress("image")
    mirror = mirror or host_mirror()
    base = base_tag(mirror)
    tag = f"{IMAGE_REPO}:{definition_digest(base)}"
    if engine.exists("image", tag):
        return tag
    if not engine.exists("image", base):
        _build_base(engine, base, mirror, progress)
    _build_image(engine, base, tag, progress)
    return tag


def _build_base(engine: Engine, tag: str, mirror: str, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("Building the base image needs debootstrap: apt-get install -y debootstrap (make setup does it)")
    progress.say("image", f"debootstrap {machine.OS_CODENAME} from {mirror} (about a minute)")
    with tempfile.TemporaryDirectory(prefix="workshop-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _stream(
            ["debootstrap", "--variant=minbase", machine.OS_CODENAME, str(rootfs), mirror],
            progress, "debootstrap", keep=lambda line: line.startswith(("I: Retrieving", "I: Base system", "E:", "W:")),
            every=20,
        )
        progress.say("image", f"importing the root filesystem as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        result = subprocess.run([engine.program, "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        if tar.wait() != 0 or result.returncode != 0:
            raise ImageBuildError(f"Importing the base image failed: {result.stderr.strip()}")


def _build_image(engine: Engine, base: str, tag: str, progress: Progress) -> None:
    digest = tag.rsplit(":", 1)[1]
    progress.say("image", f"building {tag} from Debian packages (a minute or two, once)")
    with tempfile.TemporaryDirectory(prefix="workshop-image-") as tmp:
        context = Path(tmp)
        (context / "Containerfile").write_text(render(base, digest))
        for name in _FILES[1:]:
            (context / name).write_bytes(_asset(name).read_bytes())
        _stream(
            [engine.program, "build", "--tag", tag, "--file", str(context / "Containerfile"), str(context)],
            progress, "build", keep=lambda line: line.startswith(("Setting up", "E:", "Error", "error")),
            every=25,
        )
    progress.say("image", f"{tag} ready")


#: A build's steps, as podman ("STEP 2/9: RUN ...") and docker's classic builder ("Step 2/9 : RUN ...") print them.
BUILD_STEP = ("STEP ", "Step ")


def _stream(command: list[str], progress: Progress, subject: str, keep, every: int) -> None:
    """Run a long command, showing its steps, its milestone lines every `every` lines, and errors."""
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for count, line in enumerate(process.stdout, 1):
            line = line.rstrip()
            tail = (tail + [line])[-30:]
            if line.startswith(BUILD_STEP) or (keep(line) and count % every == 0) or line.startswith(("E:", "Error")):
                progress.say(subject, line[:160])
    if process.returncode != 0:
        raise ImageBuildError(
            f"`{' '.join(command[:3])} ...` failed (exit {process.returncode}). Last lines:\n" + "\n".join(tail)
        )
