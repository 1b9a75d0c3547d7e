"""EC2 hardening (moto): IMDSv2 only, no untagged bucket after an interrupted `up`, the stack and
class limits under launches that run at the same time, a warning for a stack open to the world."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.conftest import ROOT
from tests.unit.test_ec2_fixtures import (  # noqa: F401 (fixtures)
    REGION, aws_env, boot, cloud_env, make_provider, make_stack, progress, provider, stack,
)
from workshop.aws import guard
from workshop.aws.errors import CostGuardError
from workshop.progress import Progress
from workshop.topology import spec


def live_instances() -> list[dict]:
    reservations = boto3.client("ec2", region_name=REGION).describe_instances(Filters=[
        {"Name": "instance-state-name", "Values": guard.LIVE_STATES}])["Reservations"]
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def test_instances_answer_only_imdsv2(provider, stack, progress):
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    [instance] = live_instances()
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 1


def test_an_up_interrupted_between_creating_and_tagging_the_bucket_leaves_no_bucket(provider, stack, progress,
                                                                                   monkeypatch):
    s3 = provider._cloud(stack).client("s3")

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(s3, "put_bucket_tagging", interrupted)
    with pytest.raises(KeyboardInterrupt):
        provider.prepare(stack, progress)
    assert boto3.client("s3").list_buckets()["Buckets"] == []  # an untagged bucket no `down` could find
    monkeypatch.undo()
    provider.prepare(stack, progress)
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == [stack.network["bucket"]]


def launch_together(monkeypatch, launches: list) -> list[BaseException | None]:
    """Run (provider, stack, name) launches in threads that all pass the pre-launch check before any
    launches: the race the recount after launching must win. Returns each launch's error, or None."""
    barrier = threading.Barrier(len(launches))
    real_check = guard.check_limits

    def check_then_wait(*args):
        real_check(*args)
        barrier.wait(timeout=60)

    monkeypatch.setattr(guard, "check_limits", check_then_wait)

    def launch(job) -> BaseException | None:
        provider, stack, name = job
        try:
            provider.create_instance(stack, spec(name), "", Progress("parallel", quiet=True))
        except CostGuardError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=len(launches)) as pool:
        return list(pool.map(launch, launches))


def three_at_once(boot, stack, progress, monkeypatch) -> list[BaseException | None]:
    make_provider(boot).prepare(stack, progress)
    return launch_together(monkeypatch, [(make_provider(boot), stack, name) for name in ("web1", "web2", "db1")])


def test_parallel_launches_in_one_stack_never_pass_its_limit(boot, stack, progress, monkeypatch):
    monkeypatch.setenv("WORKSHOP_MAX_INSTANCES_PER_STACK", "2")
    errors = three_at_once(boot, stack, progress, monkeypatch)
    assert len(live_instances()) <= 2 and len(live_instances()) == errors.count(None)
    for error in filter(None, errors):
        assert "over the limit per stack" in str(error) and "another launch ran at the same time" in str(error)


def test_parallel_launches_within_the_limit_all_keep_their_instance(boot, stack, progress, monkeypatch):
    monkeypatch.setenv("WORKSHOP_MAX_INSTANCES_PER_STACK", "3")
    assert three_at_once(boot, stack, progress, monkeypatch) == [None, None, None]
    assert len(live_instances()) == 3


def test_parallel_launches_of_a_class_never_pass_the_class_limit(boot, progress, monkeypatch, cloud_env):
    monkeypatch.setenv("WORKSHOP_MAX_INSTANCES_PER_CLASS", "2")
    stacks = [make_stack(name) for name in ("lab-a", "lab-b", "lab-c")]
    for each in stacks:
        make_provider(boot).prepare(each, progress)
    errors = launch_together(monkeypatch, [(make_provider(boot), each, "web1") for each in stacks])
    assert len(live_instances()) <= 2 and len(live_instances()) == errors.count(None)
    assert all("over the limit per class" in str(error) for error in errors if error)


def test_a_stack_open_to_the_whole_internet_is_warned_about(provider, stack, progress, monkeypatch, capsys):
    provider.prepare(stack, progress)
    assert "warning" not in capsys.readouterr().out
    monkeypatch.setenv("WORKSHOP_PUBLIC_CIDR", "0.0.0.0/0")
    make_provider(provider.probe).prepare(stack, progress)
    out = capsys.readouterr().out
    assert "admitting SSH and HTTP from 0.0.0.0/0 only" in out
    assert "warning: that is the whole internet" in out and "WORKSHOP_PUBLIC_CIDR" in out


def test_the_documented_iam_policy_scopes_every_change_by_tag_bucket_name_or_user_path():
    text = (ROOT / "docs" / "ec2.md").read_text()
    policy = json.loads(re.search(r"```json\n(\{\"Version\".*?)\n```", text, re.S).group(1))
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if statement["Resource"] == "*" and "Condition" not in statement:
            assert all(action.split(":")[1].startswith(("Describe", "List", "Get")) for action in actions), statement
    scoped = {s["Sid"]: s for s in policy["Statement"]}
    assert scoped["MediaUsers"]["Resource"] == "arn:aws:iam::*:user/workshop/*"
    assert scoped["MediaBuckets"]["Resource"] == ["arn:aws:s3:::ws-*", "arn:aws:s3:::ws-*/*"]
    assert "ec2:TerminateInstances" in scoped["ChangeOnlyTheWorkshops"]["Action"]
