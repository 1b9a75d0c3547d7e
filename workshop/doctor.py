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
import shutil
import sys
from dataclasses import dataclass

from .errors import WorkshopError

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
DISTRIBUTION = "django-deployment-workshop"
PYTHON = (3, 11)
SETUP_FIX = "run `make setup` in the course folder (or `.venv/bin/pip install -e '.[test]'`)"


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


def check_engine(needed: bool) -> Finding:
    """The container engine local mode runs machines with (`podman info` only: nothing is started)."""
    from .engine import find_engine

    try:
        engine = find_engine()
        engine.run_flags()
    except WorkshopError as exc:
        if needed:
            return Finding("engine", FAIL, "local mode cannot run machines", str(exc))
        return Finding("engine", WARN, "no working container engine (not needed for EC2 mode)", str(exc))
    return Finding("engine", OK, f"{engine.program} works")


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
