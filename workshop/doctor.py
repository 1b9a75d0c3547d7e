"""`workshop doctor`: is this machine ready for class? Every problem comes with its fix.

Run it when the pre-class email arrives (docs/pre-class.md), again the day
before, and whenever something odd happens. It only reads: it creates no
machine and no AWS resource.

Example::

    findings = diagnose("ec2")
    print(report(findings, "ec2"))
    exit_code(findings)
    # -> 0
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkshopError

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
DISTRIBUTION = "django-deployment-workshop"
PYTHON = (3, 11)
SETUP_FIX = "run `make setup` in the course folder (or `.venv/bin/pip install -e '.[test]'`)"
#: Releases scripts/setup.sh knows (os-release ID and VERSION_ID).
SUPPORTED_SYSTEMS = {("debian", "12"), ("debian", "13"), ("ubuntu", "24.04")}
OTHER_SYSTEM_PATH = ("docs/pre-class.md: on macOS use the Lima recipe, on Windows WSL2 or Vagrant; elsewhere "
                     "a Debian 12 VM")
#: Oldest engines that run the course's systemd machines (podman 4: --systemd=always with
#: pinned IPs and MACs; docker 20.10: --cgroupns).
MINIMUM_ENGINE = {"podman": (4, 0), "docker": (20, 10)}
#: Each machine's systemd holds about 6 inotify instances (a full stack is 10 machines).
INOTIFY_PER_MACHINE = 6
INOTIFY_SETUP = 1024
INOTIFY_FIX = f"sudo sysctl -w fs.inotify.max_user_instances={INOTIFY_SETUP} (make setup does it)"
#: A full stack (10 machines) caught up to chapter 10 uses about 1.3 GB (docs/performance.md).
FULL_STACK_MIB = 2048


@dataclass(frozen=True)
class Finding:
    """One readiness check: what was looked at, what was seen, and the fix when it is not ok."""

    topic: str
    status: str
    detail: str
    fix: str = ""


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] != PYTHON:
        return Finding("python", FAIL, f"Python {version} at {sys.executable}",
                       f"the course needs Python {PYTHON[0]}.{PYTHON[1]}: {SETUP_FIX}")
    return Finding("python", OK, f"Python {version} at {sys.executable}")


def check_packages() -> Finding:
    """The pinned packages of pyproject.toml, at exactly their pinned versions."""
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return Finding("packages", FAIL, f"the course package ({DISTRIBUTION}) is not installed here", SETUP_FIX)
    wrong = []
    pins = [r for r in requirements if ";" not in r and "==" in r]
    for pin in pins:
        name, _, wanted = pin.partition("==")
        try:
            found = importlib.metadata.version(name.strip())
        except importlib.metadata.PackageNotFoundError:
            found = "missing"
        if found != wanted.strip():
            wrong.append(f"{name.strip()} {found} (wants {wanted.strip()})")
    if wrong:
        return Finding("packages", FAIL, "; ".join(wrong), SETUP_FIX)
    return Finding("packages", OK, f"{len(pins)} pinned packages at their versions")


def check_ssh() -> Finding:
    path = shutil.which("ssh")
    if path is None:
        return Finding("ssh", FAIL, "no `ssh` client on PATH (`workshop ssh` and Fabric from a terminal need it)",
                       "apt-get install -y openssh-client (macOS and Windows 10+ ship one)")
    return Finding("ssh", OK, path)


def check_system(os_release: Path = Path("/etc/os-release")) -> Finding:
    """Whether scripts/setup.sh knows this system, and which path to take when it does not."""
    if sys.platform != "linux":
        return Finding("system", FAIL, f"{platform.system()}: local machines need a Linux kernel",
                       f"run the course in a Debian 12 VM: {OTHER_SYSTEM_PATH}")
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', os_release.read_text(), re.M)) if os_release.exists() else {}
    described = f"{fields.get('PRETTY_NAME', 'unknown Linux')}, kernel {platform.release()}"
    if "microsoft" in platform.release().lower():
        described += " (WSL2)"
    if (fields.get("ID"), fields.get("VERSION_ID")) not in SUPPORTED_SYSTEMS:
        return Finding("system", WARN, f"{described}: make setup is written for Debian 12/13 and Ubuntu 24.04",
                       f"install podman >= 4, runc, debootstrap and wrk yourself, or use {OTHER_SYSTEM_PATH}")
    return Finding("system", OK, described)


def check_engine(needed: bool) -> Finding:
    """The container engine local mode runs machines with, and its version (`info` only: nothing is started)."""
    from .engine import find_engine

    try:
        engine = find_engine()
        flags = engine.run_flags()
        version = engine.version()
    except WorkshopError as exc:
        if needed:
            return Finding("engine", FAIL, "local mode cannot run machines", str(exc))
        return Finding("engine", WARN, "no working container engine (not needed for EC2 mode)", str(exc))
    detail = f"{engine.name} {version} ({engine.program})"
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    minimum = MINIMUM_ENGINE[engine.name]
    if found < minimum:
        fix = ("make setup installs podman from your release (Debian 12 has 4.3)" if engine.is_podman
               else "upgrade Docker (Debian 12's docker.io is 20.10), or unset WORKSHOP_ENGINE to use podman")
        return Finding("engine", FAIL, f"{detail}: the course needs {engine.name} >= {'.'.join(map(str, minimum))}",
                       fix)
    if not engine.is_podman:
        detail += f"; docker has no systemd mode, so machines run with {' '.join(flags)}"
    return Finding("engine", OK, detail)


def check_cgroups(mounts: Path = Path("/proc/mounts")) -> Finding:
    """The host's cgroup mode, which decides how systemd machines run (and why podman uses runc)."""
    from .engine import cgroup_mode

    mode = cgroup_mode(mounts)
    detail = {"unified": "cgroup v2 (unified)",
              "hybrid": "cgroup v1 with a v2 tree beside (hybrid): podman's machines need runc (crun refuses hybrid)",
              "legacy": "cgroup v1 (legacy): podman's machines need runc"}[mode]
    return Finding("cgroups", OK, detail)


def check_inotify(limit_file: Path = Path("/proc/sys/fs/inotify/max_user_instances")) -> Finding:
    """Room for the machines' systemd: too few inotify instances and new machines never finish booting."""
    from .topology import PLAN

    limit = int(limit_file.read_text())
    machines = limit // INOTIFY_PER_MACHINE
    detail = f"fs.inotify.max_user_instances = {limit} (about {machines} machines; a full stack is {len(PLAN)})"
    if machines < len(PLAN):
        return Finding("inotify", FAIL, detail, INOTIFY_FIX)
    if limit < INOTIFY_SETUP:
        return Finding("inotify", WARN, detail + "; enough for one stack, not for a class on one machine", INOTIFY_FIX)
    return Finding("inotify", OK, detail)


def check_memory(meminfo: Path = Path("/proc/meminfo")) -> Finding:
    """Free memory for a full stack (the machines share the host's memory)."""
    available = int(re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.M).group(1)) // 1024
    detail = f"{available} MiB available; a full stack needs about {FULL_STACK_MIB} MiB"
    if available < FULL_STACK_MIB:
        return Finding("memory", WARN, detail + " (chapters 01-05 need about half)",
                       "close other programs, or give the VM more memory (Lima: `limactl edit`, WSL2: .wslconfig)")
    return Finding("memory", OK, detail)


def check_local_host() -> list[Finding]:
    """What local mode needs from this machine: a known system, cgroups, inotify room and memory."""
    findings = [check_system()]
    if sys.platform == "linux":
        findings += [check_cgroups(), check_inotify(), check_memory()]
    return findings


def check_aws() -> list[Finding]:
    """Credentials, region, prices, image, network and vCPU quota for a full EC2 stack."""
    from .aws import guard, network
    from .aws.cost import estimate
    from .aws.image import find_debian_image
    from .aws.session import connect
    from .aws.settings import Settings
    from .topology import PLAN

    try:
        settings = Settings.from_env()
        cloud = connect(settings.region)
    except WorkshopError as exc:
        return [Finding("aws", FAIL, "cannot use AWS", str(exc))]
    findings = [Finding("aws", OK, f"account {cloud.account} in {cloud.region}, student {settings.student!r}, "
                                   f"class {settings.class_name!r}")]
    checks = (
        ("cost", lambda: "a full stack costs ${:.2f} for {:g} h".format(
            estimate(cloud.region, [s.role for s in PLAN.values()], settings).total, settings.hours)),
        ("image", lambda: find_debian_image(cloud.ec2)["Name"]),
        ("vpc", lambda: f"default VPC {network.default_vpc(cloud.ec2)['VpcId']}"),
        ("address", lambda: f"SSH and HTTP will be admitted from {settings.public_cidr or network.public_cidr()}"),
    )
    for topic, check in checks:
        try:
            findings.append(Finding(topic, OK, check()))
        except WorkshopError as exc:
            findings.append(Finding(topic, FAIL, f"{topic} check failed", str(exc)))
    findings.append(_quota(cloud, settings, guard))
    return findings


def _quota(cloud, settings, guard) -> Finding:
    try:
        needed = guard.stack_vcpus(cloud.ec2, settings)
        used = guard.standard_vcpus_in_use(cloud.ec2)
    except WorkshopError as exc:
        return Finding("quota", FAIL, "could not count vCPUs", str(exc))
    quota = guard.vcpu_quota(cloud)
    where = (f"Service Quotas > Amazon EC2 > Running On-Demand Standard instances ({guard.VCPU_QUOTA[1]}) "
             f"in {cloud.region}")
    if quota is None:
        return Finding("quota", WARN, f"Service Quotas did not tell the vCPU quota; a full stack needs {needed} vCPUs",
                       f"check it in the console: {where}")
    if used + needed > quota:
        return Finding("quota", FAIL, f"vCPU quota {quota:g}, {used} in use, a full stack needs {needed}",
                       f"request at least {used + needed:g} at {where}; approval can take days, so ask now")
    return Finding("quota", OK, f"vCPU quota {quota:g}, {used} in use, a full stack needs {needed}")


def diagnose(provider: str) -> list[Finding]:
    """Every readiness check for `provider` ("local" or "ec2")."""
    from .providers import PROVIDERS

    findings = [check_python(), check_packages(), check_ssh(), check_engine(needed=provider == "local")]
    if provider == "local":
        findings += check_local_host()
    if provider not in PROVIDERS:
        findings.append(Finding("provider", FAIL, f"WORKSHOP_PROVIDER={provider!r} is not a provider",
                                f"set WORKSHOP_PROVIDER to one of: {', '.join(PROVIDERS)}"))
    elif provider == "ec2":
        findings += check_aws()
    else:
        findings.append(Finding("aws", SKIP, "not checked in local mode (`workshop doctor --provider ec2` checks it)"))
    return findings


def report(findings: list[Finding], provider: str) -> str:
    lines = [f"workshop doctor (provider: {provider})"]
    for finding in findings:
        lines.append(f"  {finding.status:<4}  {finding.topic:<8}  {finding.detail}")
        if finding.fix:
            lines.append(f"  {'':<4}  {'':<8}  fix: {finding.fix}")
    problems = sum(f.status == FAIL for f in findings)
    warnings = sum(f.status == WARN for f in findings)
    lines.append(f"{problems} problem(s) to fix, {warnings} warning(s)." if problems or warnings else "Ready for class.")
    return "\n".join(lines)


def exit_code(findings: list[Finding]) -> int:
    """1 when something must be fixed (a warning alone is not a failure)."""
    return 1 if any(f.status == FAIL for f in findings) else 0
