"""Shared fixtures of the EC2 tests (test_ec2_*.py import them): moto only, no network.

`cloud_env` is an AWS account in us-east-1 as moto fakes it, with the
official Debian 12 images (moto has none: they are added to its backend)
and a student, a class and a public address set as the student would.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from functools import cache

import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami

from workshop.aws.image import DEBIAN_OWNER
from workshop.aws.settings import Settings
from workshop.keys import generate_key_pair
from workshop.progress import Progress
from workshop.providers.ec2 import EC2Provider
from workshop.stack import Stack

REGION = "us-east-1"
STUDENT_CIDR = "203.0.113.7/32"
NEWEST_DEBIAN = "ami-0debian12newest0"

#: One botocore data loader for every session of the run: each new boto3 session (every `connect`,
#: and moto's own) would otherwise parse the same service models and endpoint files again.
SHARED_LOADER = cache(botocore.loaders.create_loader)


def add_debian_images(region: str = REGION) -> None:
    """Two Debian 12 amd64 releases, an arm64 one and a look-alike from another owner."""
    backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
    for ami_id, name, arch, owner, day in (
        ("ami-0debian12older00", "debian-12-amd64-20250101-1980", "x86_64", DEBIAN_OWNER, 1),
        (NEWEST_DEBIAN, "debian-12-amd64-20250601-2140", "x86_64", DEBIAN_OWNER, 6),
        ("ami-0debian12arm6400", "debian-12-arm64-20250701-2200", "arm64", DEBIAN_OWNER, 7),
        ("ami-0notdebian120000", "debian-12-amd64-20251201-9999", "x86_64", "999999999999", 12),
    ):
        backend.amis[ami_id] = Ami(backend, ami_id=ami_id, name=name, owner_id=owner, architecture=arch,
                                   public=True, root_device_type="ebs", root_device_name="/dev/xvda",
                                   creation_date=datetime(2025, day, 1, tzinfo=timezone.utc))


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and a region, nothing from this machine's ~/.aws, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_REGION", "WORKSHOP_AWS_REGION", "WORKSHOP_EC2_TYPES", "WORKSHOP_EC2_HOURS",
                 "WORKSHOP_MAX_INSTANCES_PER_STACK", "WORKSHOP_MAX_INSTANCES_PER_CLASS", "WORKSHOP_INSTRUCTOR_CIDR",
                 "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKSHOP_STUDENT", "alice")
    monkeypatch.setenv("WORKSHOP_CLASS", "pycon")
    monkeypatch.setenv("WORKSHOP_PUBLIC_CIDR", STUDENT_CIDR)
    # moto's thousands of stock images are never found (the provider looks for Debian's owner) and
    # building them for every region of every test took most of the EC2 tests' time.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr(botocore.session, "create_loader", SHARED_LOADER)


@pytest.fixture
def cloud_env(aws_env):
    with mock_aws():
        add_debian_images()
        yield


class BootLog:
    """A stand-in for the SSH readiness probe (moto's instances never boot): records calls, can fail."""

    def __init__(self):
        self.booted: list[str] = []
        self.failure: BaseException | None = None

    def __call__(self, stack, record, progress):
        if self.failure is not None:
            raise self.failure
        self.booted.append(record.name)


@pytest.fixture
def boot():
    return BootLog()


def make_provider(boot: BootLog) -> EC2Provider:
    """A provider with the settings of the environment now, and `boot` as its readiness probe."""
    return EC2Provider(settings=Settings.from_env(), probe=boot, poll=0.01)


def make_stack(name: str = "lab") -> Stack:
    stack = Stack(name=name, provider="ec2", ssh_user="root", ssh_key="")
    key = stack.folder / "id_ed25519"
    generate_key_pair(key, comment=f"workshop-{name}")
    stack.ssh_key = str(key)
    return stack


@pytest.fixture
def provider(cloud_env, boot) -> EC2Provider:
    return make_provider(boot)


@pytest.fixture
def stack(cloud_env) -> Stack:
    return make_stack()


class _Stdout:
    """Whatever sys.stdout is when a line is written (pytest swaps it between fixtures and the test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def progress() -> Progress:
    return Progress("test", stream=_Stdout())
