"""The container engine (podman by default, docker accepted) behind the local provider.

Example::

    engine = find_engine()
    engine.run("ps", "--all").stdout
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import engine_output
from .errors import EngineError

INSTALL_HINT = (
    "Install podman with `make setup` (it runs: apt-get install -y podman runc "
    "debootstrap uidmap slirp4netns), or set WORKSHOP_ENGINE=docker if you use Docker."
)

#: Stacks publish on loopback ports from here up to the kernel's ephemeral range.
PUBLISH_PORT_FLOOR = 20000
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"

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
#: docker has no systemd mode, so the flags podman's --systemd=always implies
#: are spelled out: tmpfs on /run and /run/lock, `container=docker` (systemd
#: then knows it is in a container, and skips the namespacing of services'
#: PrivateTmp= and the like that a container may not do), and the host's
#: cgroup tree, writable, with its own path in it (--cgroupns=host: a private
#: namespace would show it paths that do not exist on cgroup v1). The stop
#: signal, SIGRTMIN+3, is the image's STOPSIGNAL, which both engines honour.
#: No --privileged: docker's default capabilities are a superset of podman's,
#: and --privileged asks for every capability, which fails ("unable to apply
#: caps") where the host itself lacks one, as podman's ulimits do.
DOCKER_RUN_FLAGS = (
    "--env", "container=docker",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
    "--cgroupns=host",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--ulimit", "nofile=4096:4096",
)


def cgroup_mode(mounts: Path = Path("/proc/mounts")) -> str:
    """The host's cgroup layout: "unified" (v2 only), "hybrid" (v1 with a v2 tree beside) or "legacy" (v1).

    Without /proc (macOS, Windows) the engine runs in a VM of its own, v2 in every current one.
    """
    if not mounts.exists():
        return "unified"
    points = {}
    for line in mounts.read_text().splitlines():
        fields = line.split()
        if len(fields) > 2:
            points[fields[1]] = fields[2]
    if points.get("/sys/fs/cgroup") == "cgroup2":
        return "unified"
    return "hybrid" if points.get("/sys/fs/cgroup/unified") == "cgroup2" else "legacy"


@dataclass
class Engine:
    """One container engine CLI, called with argument lists (never a shell)."""

    program: str

    @property
    def is_podman(self) -> bool:
        return os.path.basename(self.program) == "podman"

    @property
    def name(self) -> str:
        return "podman" if self.is_podman else "docker"

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

    @cached_property
    def docker_api(self) -> tuple[int, ...]:
        """The docker daemon's API version (the CLI may be newer than the daemon it talks to)."""
        version = self.run("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
        return tuple(int(part) for part in version.split("."))

    def mac_address_flags(self, mac: str) -> tuple[str, ...]:
        """`run` flags pinning a container's MAC (keeps neighbours' ARP caches right across restarts).

        Docker daemons older than API 1.44 (Docker 25) derive this very MAC
        (02:42 and the IP) themselves, and a newer CLI refuses --mac-address
        for them ("requires API version 1.44"): so none is passed there.
        """
        if not self.is_podman and self.docker_api < (1, 44):
            return ()
        return ("--mac-address", mac)

    def publish_flags(self, ports: tuple[int, ...]) -> list[str]:
        """`run` flags publishing `ports` on 127.0.0.1, at host ports picked here.

        Left to itself, docker picks anew at every start (the stack's recorded
        SSH and HTTP ports would be dead after a restart), and both engines pick
        from the kernel's ephemeral range, where any outgoing connection of the
        course's own SSH and HTTP clients can take the port between the pick and
        the engine's bind ("address already in use"): see `free_ports`.
        """
        host_ports = free_ports(len(ports))
        return [arg for port, host in zip(ports, host_ports) for arg in ("--publish", f"127.0.0.1:{host}:{port}")]

    def exists(self, kind: str, name: str) -> bool:
        """Whether an object of `kind` (container, network, image) called `name` exists."""
        if kind == "container" and self.is_podman:
            return self.run("container", "exists", name, check=False).returncode == 0
        return self.run(kind, "inspect", name, check=False).returncode == 0

    def inspect(self, kind: str, *names: str) -> list[dict]:
        """`kind inspect names...` as records (a JSON array on both engines); names that do not
        exist (any more: another stack's teardown may run meanwhile) are left out, as both leave them."""
        return engine_output.records(self.run(kind, "inspect", *names, check=False).stdout)

    def listing(self, kind: str, label: str | None = None) -> list[dict]:
        """Every container (running or not) or network, or those carrying `label` (key=value)."""
        command = ("ps", "--all") if kind == "container" else ("network", "ls")
        filters = ("--filter", f"label={label}") if label else ()
        return engine_output.records(self.run(*command, *filters, "--format", "{{json .}}").stdout)

    def names(self, kind: str, label: str) -> list[str]:
        """Names of containers or networks carrying `label` (key=value)."""
        return [engine_output.name(record) for record in self.listing(kind, label)]

    def remove_container(self, name: str) -> None:
        """Remove a container at once, running or not (docker's `rm --force` kills without waiting)."""
        self.run("rm", "--force", *(("--time", "0") if self.is_podman else ()), name)

    def version(self) -> str:
        """The engine's version (docker's is the daemon's, which decides how containers run)."""
        info = engine_output.records(self.run("info", "--format", "{{json .}}", timeout=60).stdout)[0]
        return info["version"]["Version"] if self.is_podman else info["ServerVersion"]


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 that nothing is bound to now, from below the
    kernel's ephemeral range, so no outgoing connection is handed one of them before the
    engine binds it (all are held until the last is picked, so none comes twice)."""
    candidates = list(range(PUBLISH_PORT_FLOOR, ephemeral_port_floor()))
    random.shuffle(candidates)
    picked = []
    with ExitStack() as held:
        for port in candidates:
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                probe.close()
                continue
            held.enter_context(probe)
            picked.append(port)
            if len(picked) == count:
                return picked
    raise EngineError(f"fewer than {count} free TCP ports on 127.0.0.1 between {PUBLISH_PORT_FLOOR} and the "
                      "kernel's ephemeral range (net.ipv4.ip_local_port_range): remove old stacks (workshop down)")


def ephemeral_port_floor() -> int:
    """The lowest port the kernel hands to outgoing connections (32768 on Debian)."""
    try:
        return int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


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
