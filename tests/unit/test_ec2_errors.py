"""EC2 errors: each names its fix, and nothing half-created is left behind (moto)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.unit.test_ec2_fixtures import (  # noqa: F401 (fixtures)
    REGION, aws_env, boot, cloud_env, make_provider, make_stack, progress, provider, stack,
)
from workshop.aws import media
from workshop.aws.errors import BootError, CredentialsError, ImageNotFoundError, QuotaError, RegionError
from workshop.aws.session import connect
from workshop.errors import WorkshopError
from workshop.topology import spec


def nothing_exists() -> bool:
    ec2 = boto3.client("ec2", region_name=REGION)
    live = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": [
        "pending", "running", "stopping", "stopped"]}])["Reservations"] for i in r["Instances"]]
    return (not live and not ec2.describe_key_pairs()["KeyPairs"]
            and not ec2.describe_subnets(Filters=[{"Name": "tag-key", "Values": ["workshop:stack"]}])["Subnets"]
            and not boto3.client("s3").list_buckets()["Buckets"]
            and not boto3.client("iam").list_users()["Users"])


def test_all_aws_errors_are_workshop_errors_the_cli_prints():
    for error in (BootError, CredentialsError, ImageNotFoundError, QuotaError, RegionError):
        assert issubclass(error, WorkshopError)


def test_no_credentials_says_how_to_configure_them(aws_env, monkeypatch):
    with mock_aws():
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        with pytest.raises(CredentialsError, match="No AWS credentials found: run `aws configure`"):
            connect(REGION)


def test_no_region_says_which_variable_to_set(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with mock_aws(), pytest.raises(RegionError, match="WORKSHOP_AWS_REGION"):
        connect(None)


def test_a_region_that_does_not_exist_lists_the_real_ones(aws_env):
    with mock_aws(), pytest.raises(RegionError, match="'eu-middle-9' is not an EC2 region; choose one of: .*eu-west-1"):
        connect("eu-middle-9")


def test_rejected_credentials_name_the_error_and_the_fix(aws_env, monkeypatch):
    rejected = ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "The security token is invalid"}},
                           "GetCallerIdentity")

    class Sts:
        def get_caller_identity(self):
            raise rejected

    monkeypatch.setattr(boto3.Session, "client", lambda self, service, **kw: Sts())
    with pytest.raises(CredentialsError, match="InvalidClientTokenId.*aws configure"):
        connect(REGION)


def test_no_debian_image_in_the_region_creates_nothing(aws_env, boot, progress):
    with mock_aws():  # no add_debian_images: no Debian image here
        stack = make_stack()
        with pytest.raises(ImageNotFoundError, match="debian-12-amd64-\\* from owner 136693071363"):
            make_provider(boot).prepare(stack, progress)
        assert nothing_exists()


def test_a_quota_refusal_at_launch_becomes_a_quota_error_and_leaves_no_instance(provider, stack, progress,
                                                                               monkeypatch):
    provider.prepare(stack, progress)
    client = provider._cloud(stack).ec2

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "VcpuLimitExceeded", "Message": "You have requested more vCPU "
                                     "capacity than your current vCPU limit of 1 allows"}}, "RunInstances")

    monkeypatch.setattr(client, "run_instances", refuse)
    with pytest.raises(QuotaError, match="Request an increase"):
        provider.create_instance(stack, spec("web1"), "", progress)
    assert provider.states(stack) == {}


def test_an_instance_that_fails_to_boot_is_terminated_and_the_error_explains(provider, stack, progress, boot):
    provider.prepare(stack, progress)
    boot.failure = BootError("web1 failed its first boot (cloud-init: status: error)")
    with pytest.raises(BootError, match="status: error"):
        provider.create_instance(stack, spec("web1"), "", progress)
    assert provider.states(stack) == {}
    boot.failure = None
    assert provider.create_instance(stack, spec("web1"), "", progress).name == "web1"  # a retry starts afresh


def test_ctrl_c_while_an_instance_boots_terminates_it(provider, stack, progress, boot):
    provider.prepare(stack, progress)
    boot.failure = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        provider.create_instance(stack, spec("db1"), "", progress)
    assert provider.states(stack) == {}


def test_ctrl_c_during_prepare_rolls_back_what_it_made(provider, stack, progress, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(media, "create_user", interrupted)
    with pytest.raises(KeyboardInterrupt):
        provider.prepare(stack, progress)
    assert provider.leftovers(stack) == [] and nothing_exists()
    assert stack.network == {}


def test_a_failure_in_a_later_up_keeps_what_earlier_ups_made(provider, stack, progress, monkeypatch):
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    monkeypatch.setattr(media, "create_user", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    (stack.folder / media.CREDENTIALS_FILE).unlink()  # forces a new media key on the next prepare
    with pytest.raises(KeyboardInterrupt):
        provider.prepare(stack, progress)
    kinds = {item.split()[0] for item in provider.leftovers(stack)}
    assert {"instance", "subnet", "security-group", "key-pair", "bucket"} <= kinds
