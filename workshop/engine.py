"""The container engine (podman by default, docker accepted) behind the local provider.

Example::

    engine = find_engine()
    engine.run("ps", "--all").stdout
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from .errors import EngineError

INSTALL_HINT = (
    "Install podman with `make setup` (it runs: apt-get install -y podman runc "
    "debootstrap uidmap slirp4netns), or set WORKSHOP_ENGINE=docker if you use Docker."
)

#: Flags every workshop container needs to run systemd as PID 1.
#: podman: runc, because crun fails on hybrid cgroups ("cgroups in hybrid mode
#: not supported"); explicit ulimits, because the inherited ones cannot be set
#: without CAP_SYS_RESOURCE ("error setting rlimit type 7").
PODMAN_RUN_FLAGS = (
    "--runtime", "runc",
    "--systemd=always",
    "--ulimit", "nofile=4096:4096",
    "--ulimit", "nproc=4096:4096",
)
#: docker has no systemd mode: it needs the cgroup tree and tmpfs mounts.
DOCKER_RUN_FLAGS = (
    "--privileged",
    "--cgroupns=host",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
    "--ulimit", "nofile=4096:4096",
)


@dataclass
class Engine:
    """One container engine CLI, called with argument lists (never a shell)."""

    program: str

    @property
    def is_podman(self) -> bool:
        return os.path.basename(self.program) == "podman"

    def run(self, *args: str, check: bool = True, input: str | bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `<engine> args...`; on failure raise EngineError with its stderr."""
        text = not isinstance(input, bytes)
        try:
            result = subprocess.run(
                [self.program, *args], input=input, capture_output=True, text=text, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"`{self.program} {' '.join(args)}` did not finish within {timeout:.0f}s") from exc
        if check and result.returncode != 0:
            stderr = result.stderr if text else result.stderr.decode(errors="replace")
            raise EngineError(
                f"`{self.program} {' '.join(args)}` failed (exit {result.returncode}):\n{stderr.strip()}"
            )
        return result

    def run_flags(self) -> tuple[str, ...]:
        """Flags `run` needs for a systemd container on this engine."""
        if not self.is_podman:
            return DOCKER_RUN_FLAGS
        if shutil.which("runc") is None:
            raise EngineError("podman needs the runc runtime for systemd containers: apt-get install -y runc")
        return PODMAN_RUN_FLAGS

    def exists(self, kind: str, name: str) -> bool:
        """Whether an object of `kind` (container, network, image) called `name` exists."""
        if kind == "container" and self.is_podman:
            return self.run("container", "exists", name, check=False).returncode == 0
        return self.run(kind, "inspect", name, check=False).returncode == 0

    def inspect(self, kind: str, name: str) -> dict | None:
        result = self.run(kind, "inspect", name, check=False)
        if result.returncode != 0:
            return None
        data = json.loads(result.stdout)
        return data[0] if data else None

    def names(self, kind: str, label: str) -> list[str]:
        """Names of containers or networks carrying `label` (key=value)."""
        if kind == "container":
            out = self.run("ps", "--all", "--filter", f"label={label}", "--format", "{{.Names}}").stdout
        else:
            out = self.run("network", "ls", "--filter", f"label={label}", "--format", "{{.Name}}").stdout
        return [line.strip() for line in out.splitlines() if line.strip()]


def find_engine(preferred: str | None = None) -> Engine:
    """The first working engine: WORKSHOP_ENGINE, else podman, else docker.

    Raises EngineError naming the fix when none is installed or it does not work.
    """
    preferred = preferred or os.environ.get("WORKSHOP_ENGINE")
    candidates = [preferred] if preferred else ["podman", "docker"]
    found = [(name, shutil.which(name)) for name in candidates]
    installed = [(name, path) for name, path in found if path]
    if not installed:
        wanted = " or ".join(candidates)
        raise EngineError(f"No container engine found ({wanted} is not on PATH). {INSTALL_HINT}")
    problems = []
    for name, path in installed:
        engine = Engine(path)
        result = engine.run("info", check=False, timeout=60)
        if result.returncode == 0:
            return engine
        problems.append(f"`{name} info` failed: {result.stderr.strip()[:500]}")
    raise EngineError(
        "The container engine is installed but does not work:\n  "
        + "\n  ".join(problems)
        + "\nFor docker, start the daemon (systemctl start docker) and check you may use it; "
        "for podman, run `podman info` to see the error. " + INSTALL_HINT
    )
