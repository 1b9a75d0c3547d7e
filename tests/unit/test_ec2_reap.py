"""EC2 reaper: expired stacks are found by their tags and deleted completely; live ones are kept (moto)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import boto3

from tests.unit.test_ec2_fixtures import (  # noqa: F401 (fixtures)
    REGION, aws_env, boot, cloud_env, make_provider, make_stack, progress, provider, stack,
)
from workshop.aws.tags import EXPIRES
from workshop.aws.teardown import expired_stacks, reap
from workshop.cli import main
from workshop.topology import spec

LATER = datetime.now(timezone.utc) + timedelta(hours=3)


def up(monkeypatch, boot, progress, student: str, hours: str, class_name: str = "pycon"):
    monkeypatch.setenv("WORKSHOP_STUDENT", student)
    monkeypatch.setenv("WORKSHOP_EC2_HOURS", hours)
    monkeypatch.setenv("WORKSHOP_CLASS", class_name)
    provider, stack = make_provider(boot), make_stack(f"{student}-stack")
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    return provider, stack


def test_only_stacks_past_their_expiry_are_reaped_and_nothing_of_them_is_left(cloud_env, boot, progress,
                                                                             monkeypatch):
    short, shorts = up(monkeypatch, boot, progress, "alice", "1")
    long, longs = up(monkeypatch, boot, progress, "bob", "48")
    cloud = short._cloud(shorts)
    assert list(expired_stacks(cloud, LATER)) == ["ws-alice-alice-stack"]
    results = reap(cloud, progress, now=LATER)
    assert list(results) == ["ws-alice-alice-stack"] and any(r.startswith("instance") for r in results[
        "ws-alice-alice-stack"])
    assert short.leftovers(shorts) == []
    assert len(long.leftovers(longs)) == 7


def test_a_dry_run_lists_and_deletes_nothing(cloud_env, boot, progress, monkeypatch):
    provider, stack = up(monkeypatch, boot, progress, "alice", "1")
    results = reap(provider._cloud(stack), progress, dry_run=True, now=LATER)
    assert len(results["ws-alice-alice-stack"]) == 7
    assert len(provider.leftovers(stack)) == 7


def test_the_class_option_reaps_one_class_only(cloud_env, boot, progress, monkeypatch):
    a, astack = up(monkeypatch, boot, progress, "alice", "1", "monday")
    b, bstack = up(monkeypatch, boot, progress, "bob", "1", "tuesday")
    reap(a._cloud(astack), progress, class_name="monday", now=LATER)
    assert a.leftovers(astack) == [] and len(b.leftovers(bstack)) == 7


def test_using_a_stack_again_pushes_the_expiry_of_all_its_resources_back(cloud_env, boot, progress, monkeypatch):
    provider, stack = up(monkeypatch, boot, progress, "alice", "1")
    provider.create_instance(stack, spec("web2"), "", progress)
    monkeypatch.setenv("WORKSHOP_EC2_HOURS", "10")
    provider = make_provider(boot)
    provider.prepare(stack, progress)
    assert expired_stacks(provider._cloud(stack), LATER) == {}
    tags = boto3.client("ec2", region_name=REGION).describe_tags(Filters=[{"Name": "key", "Values": [EXPIRES]}])
    assert len(tags["Tags"]) == 7 and {t["Value"] for t in tags["Tags"]} == {stack.network["expires"]}
    user = boto3.client("iam").list_user_tags(UserName=stack.network["media_user"])["Tags"]
    bucket = boto3.client("s3").get_bucket_tagging(Bucket=stack.network["bucket"])["TagSet"]
    assert {t["Value"] for t in user + bucket if t["Key"] == EXPIRES} == {stack.network["expires"]}


def test_a_stack_with_an_unreadable_expiry_is_never_reaped(cloud_env, boot, progress, monkeypatch):
    provider, stack = up(monkeypatch, boot, progress, "alice", "1")
    boto3.client("ec2", region_name=REGION).create_tags(
        Resources=[stack.network["subnet_id"]], Tags=[{"Key": EXPIRES, "Value": "someday"}])
    assert expired_stacks(provider._cloud(stack), LATER) == {}


def test_resources_of_other_projects_are_invisible_to_the_reaper(cloud_env, boot, progress, monkeypatch):
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_key_pair(KeyName="someone-elses", TagSpecifications=[{"ResourceType": "key-pair", "Tags": [
        {"Key": EXPIRES, "Value": "2000-01-01T00:00:00Z"}, {"Key": "workshop:stack", "Value": "x"}]}])
    up(monkeypatch, boot, progress, "alice", "1")
    provider = make_provider(boot)
    reap(provider._cloud(make_stack("any")), progress, now=LATER)
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == ["someone-elses"]


def test_workshop_reap_prints_what_it_would_delete(cloud_env, boot, progress, monkeypatch, capsys):
    _, stack = up(monkeypatch, boot, progress, "alice", "0.0001")
    # The tag counts whole seconds: wait until the stack is past it, whenever in its second it was made.
    expires = datetime.strptime(stack.network["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 1.1)
    capsys.readouterr()
    assert main(["reap", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ws-alice-alice-stack: would delete 7 resource(s)" in out and "dry run: nothing deleted" in out
    assert main(["reap"]) == 0
    assert "ws-alice-alice-stack: deleted 7 resource(s)" in capsys.readouterr().out


def test_expiry_tags_say_when_in_utc(cloud_env, boot, progress, monkeypatch):
    provider, stack = up(monkeypatch, boot, progress, "alice", "1")
    expires = datetime.strptime(stack.network["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert timedelta(minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=1)


def test_reaping_one_region_leaves_the_buckets_and_users_of_stacks_in_another(cloud_env, boot, progress,
                                                                               monkeypatch):
    from tests.unit.test_ec2_fixtures import add_debian_images

    add_debian_images("eu-west-1")
    monkeypatch.setenv("WORKSHOP_AWS_REGION", "eu-west-1")
    irish, irishs = up(monkeypatch, boot, progress, "alice", "1")
    monkeypatch.setenv("WORKSHOP_AWS_REGION", REGION)
    local = make_provider(boot)
    assert reap(local._cloud(make_stack("any")), progress, now=LATER) == {}
    assert len(irish.leftovers(irishs)) == 7
