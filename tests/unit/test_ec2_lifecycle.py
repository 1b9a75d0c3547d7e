"""EC2 provider / lifecycle: create, describe, tag, stop, start, kill, destroy and verify (moto)."""

from __future__ import annotations

import base64
import ipaddress
import json
from pathlib import Path

import boto3
import pytest

from tests.unit.test_ec2_fixtures import (  # noqa: F401 (fixtures)
    NEWEST_DEBIAN, REGION, STUDENT_CIDR, aws_env, boot, cloud_env, make_provider, make_stack, progress, provider, stack,
)
from workshop import machine
from workshop.aws import media
from workshop.aws.network import PUBLIC_PORTS
from workshop.aws.tags import HOST_KEY, PROJECT, PROJECT_NAME, REQUIRED, STACK, tag_dict
from workshop.keys import public_key_line
from workshop.providers import RUNNING, STOPPED, get_provider
from workshop.providers.ec2 import EC2Provider
from workshop.stack import Stack
from workshop.topology import PLAN, spec


def ec2():
    return boto3.client("ec2", region_name=REGION)


def live_instances() -> list[dict]:
    reservations = ec2().describe_instances(Filters=[{"Name": "instance-state-name", "Values": [
        "pending", "running", "stopping", "stopped"]}])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def test_ec2_is_chosen_by_the_environment_variable_not_by_code(aws_env, monkeypatch, tmp_path):
    from workshop.lab import open_lab

    monkeypatch.setenv("WORKSHOP_PROVIDER", "ec2")
    assert isinstance(get_provider(), EC2Provider)
    lab = open_lab("lab", folder=tmp_path)  # no AWS call until something is started
    assert lab.stack.provider == "ec2" and lab.stack.ssh_user == "root"


def test_prepare_creates_the_shared_resources_each_tagged_as_the_stacks(provider, stack, progress):
    provider.prepare(stack, progress)
    net = stack.network
    client = ec2()
    subnet = client.describe_subnets(SubnetIds=[net["subnet_id"]])["Subnets"][0]
    group = client.describe_security_groups(GroupIds=[net["security_group"]])["SecurityGroups"][0]
    key = client.describe_key_pairs(KeyNames=[net["key_name"]], IncludePublicKey=True)["KeyPairs"][0]
    bucket_tags = tag_dict(boto3.client("s3").get_bucket_tagging(Bucket=net["bucket"])["TagSet"])
    user_tags = tag_dict(boto3.client("iam").list_user_tags(UserName=net["media_user"])["Tags"])
    for tags in (tag_dict(subnet["Tags"]), tag_dict(group["Tags"]), tag_dict(key["Tags"]), bucket_tags, user_tags):
        assert set(REQUIRED) <= set(tags)
        assert tags[STACK] == "ws-alice-lab" and tags[PROJECT] == PROJECT_NAME
        assert tags["workshop:student"] == "alice" and tags["workshop:class"] == "pycon"
    assert ipaddress.ip_network(subnet["CidrBlock"]).prefixlen == 24 and net["subnet"] == subnet["CidrBlock"]
    assert key["PublicKey"].split()[:2] == public_key_line(Path(stack.ssh_key)).split()[:2]
    assert net["image"] == NEWEST_DEBIAN


def test_the_security_group_admits_the_student_only_and_the_stack_to_itself(provider, stack, progress):
    provider.prepare(stack, progress)
    rules = ec2().describe_security_groups(GroupIds=[stack.network["security_group"]])["SecurityGroups"][0][
        "IpPermissions"]
    outside = {(r["FromPort"], c["CidrIp"]) for r in rules if r["IpProtocol"] == "tcp" for c in r["IpRanges"]}
    inside = [r for r in rules if r["IpProtocol"] == "-1"]
    assert outside == {(port, STUDENT_CIDR) for port in PUBLIC_PORTS}
    assert {22, 80} <= set(PUBLIC_PORTS)
    assert inside and inside[0]["UserIdGroupPairs"][0]["GroupId"] == stack.network["security_group"]
    assert not any(c["CidrIp"] == "0.0.0.0/0" for r in rules for c in r.get("IpRanges", []))


def test_a_moved_student_address_replaces_the_old_one_and_the_instructor_is_admitted(boot, stack, progress,
                                                                                   monkeypatch):
    make_provider(boot).prepare(stack, progress)
    monkeypatch.setenv("WORKSHOP_PUBLIC_CIDR", "198.51.100.9/32")
    monkeypatch.setenv("WORKSHOP_INSTRUCTOR_CIDR", "192.0.2.0/24")
    make_provider(boot).prepare(stack, progress)
    rules = ec2().describe_security_groups(GroupIds=[stack.network["security_group"]])["SecurityGroups"][0][
        "IpPermissions"]
    cidrs = {c["CidrIp"] for r in rules if r["IpProtocol"] == "tcp" for c in r["IpRanges"]}
    assert cidrs == {"198.51.100.9/32", "192.0.2.0/24"}


def test_an_instance_gets_its_pinned_address_type_image_tags_and_user_data(provider, stack, progress, boot):
    provider.prepare(stack, progress)
    record = provider.create_instance(stack, spec("db1"), "", progress)
    [instance] = live_instances()
    tags = tag_dict(instance["Tags"])
    assert record.private_ip == str(ipaddress.ip_network(stack.network["subnet"]).network_address + 41)
    assert instance["PrivateIpAddress"] == record.private_ip and record.public_host == instance["PublicIpAddress"]
    assert instance["InstanceType"] == "t3.small" and instance["ImageId"] == NEWEST_DEBIAN
    assert instance["KeyName"] == "ws-alice-lab"
    assert tags["workshop:role"] == "db" and tags["workshop:instance"] == "db1" and set(REQUIRED) <= set(tags)
    assert record.ports == {"22": 22, "80": 80} and record.provider_id == instance["InstanceId"]
    volume_id = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    volume = ec2().describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert tag_dict(volume["Tags"])[STACK] == "ws-alice-lab" and volume["Size"] == 8
    user_data = base64.b64decode(ec2().describe_instance_attribute(
        InstanceId=instance["InstanceId"], Attribute="userData")["UserData"]["Value"]).decode()
    config = json.loads(user_data.removeprefix("#cloud-config\n"))
    assert config["hostname"] == "db1" and config["disable_root"] is False
    assert record.host_key == tags[HOST_KEY] == config["ssh_keys"]["ed25519_public"]
    assert all(package in config["runcmd"][0][2] for package in machine.PACKAGES)
    assert boot.booted == ["db1"]


def test_a_second_up_of_the_same_instance_reuses_it(provider, stack, progress):
    provider.prepare(stack, progress)
    first = provider.create_instance(stack, spec("web1"), "", progress)
    provider.prepare(stack, progress)
    again = provider.create_instance(stack, spec("web1"), "", progress)
    assert again.provider_id == first.provider_id and len(live_instances()) == 1
    assert again.host_key == first.host_key


def test_stop_start_and_kill_change_the_state_and_start_records_the_new_public_address(provider, stack, progress,
                                                                                     monkeypatch):
    provider.prepare(stack, progress)
    stack.instances["web1"] = provider.create_instance(stack, spec("web1"), "", progress)
    assert provider.states(stack) == {"web1": RUNNING}
    provider.stop(stack, "web1")
    assert provider.states(stack) == {"web1": STOPPED}
    stack.instances["web1"].public_host = "stale"
    provider.start(stack, "web1", progress)
    assert provider.states(stack) == {"web1": RUNNING}
    assert stack.instances["web1"].public_host == live_instances()[0]["PublicIpAddress"]
    assert Stack.load(stack.path).instances["web1"].public_host == stack.instances["web1"].public_host
    client = provider._cloud(stack).ec2
    calls = []
    real_stop = client.stop_instances
    monkeypatch.setattr(client, "stop_instances", lambda **kw: calls.append(kw) or real_stop(**kw))
    provider.kill(stack, "web1")
    assert calls == [{"InstanceIds": [stack.instances["web1"].provider_id], "Force": True}]
    assert provider.states(stack) == {"web1": STOPPED}


def test_destroy_deletes_everything_then_nothing_carries_the_stack_tag(provider, stack, progress):
    provider.prepare(stack, progress)
    for name in ("web1", "db1"):
        provider.create_instance(stack, spec(name), "", progress)
    boto3.client("s3").put_object(Bucket=stack.network["bucket"], Key="uploads/a.txt", Body=b"media")
    before = provider.leftovers(stack)
    assert {item.split()[0] for item in before} == {"instance", "volume", "security-group", "subnet", "key-pair",
                                                    "bucket", "iam-user"}
    removed = provider.destroy(stack, progress)
    assert provider.leftovers(stack) == []
    assert len([r for r in removed if r.startswith("instance")]) == 2
    assert live_instances() == [] and ec2().describe_volumes()["Volumes"] == []
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("iam").list_users(PathPrefix=media.IAM_PATH)["Users"] == []
    assert ec2().describe_key_pairs()["KeyPairs"] == []


def test_a_stack_whose_descriptor_is_lost_is_still_found_and_removed_by_its_tags(provider, stack, progress):
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    orphan = Stack(name="lab", provider="ec2", ssh_user="root", ssh_key="")
    assert len(provider.leftovers(orphan)) == 7
    provider.destroy(orphan, progress)
    assert provider.leftovers(orphan) == [] and live_instances() == []


def test_two_students_with_the_same_stack_name_never_touch_each_other(boot, stack, progress, monkeypatch):
    alice = make_provider(boot)
    alice.prepare(stack, progress)
    alice.create_instance(stack, spec("web1"), "", progress)
    monkeypatch.setenv("WORKSHOP_STUDENT", "bob")
    monkeypatch.setenv("WORKSHOP_HOME", str(stack.folder.parent.parent / "bob-home"))
    bob, bobs = make_provider(boot), make_stack("lab")
    bob.prepare(bobs, progress)
    bob.create_instance(bobs, spec("web1"), "", progress)
    assert bobs.network["subnet"] != stack.network["subnet"]
    bob.destroy(bobs, progress)
    assert bob.leftovers(bobs) == [] and len(alice.leftovers(stack)) == 7


def test_media_settings_have_the_local_keys_and_a_key_scoped_to_the_bucket(provider, stack, progress):
    from workshop.deploy.media import storage_settings as local_settings
    from workshop.lab import Lab

    provider.prepare(stack, progress)
    settings = media.storage_settings(stack)
    local = Stack(name="local", provider="local", ssh_user="root", ssh_key="", network={"subnet": "10.213.9.0/24"})
    assert set(settings) == set(local_settings(Lab(local, None, local.folder)))
    bucket = stack.network["bucket"]
    assert settings["AWS_STORAGE_BUCKET_NAME"] == bucket and settings["AWS_S3_REGION_NAME"] == REGION
    iam = boto3.client("iam")
    keys = iam.list_access_keys(UserName=stack.network["media_user"])["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [settings["AWS_ACCESS_KEY_ID"]]
    policy = iam.get_user_policy(UserName=stack.network["media_user"], PolicyName="media-bucket")["PolicyDocument"]
    resources = {r for statement in policy["Statement"] for r in [statement["Resource"]]}
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    assert (stack.folder / media.CREDENTIALS_FILE).stat().st_mode & 0o777 == 0o600
    assert settings["AWS_SECRET_ACCESS_KEY"] not in json.dumps(stack.to_dict())


def test_every_role_of_the_topology_has_a_priced_default_type(provider):
    from workshop.aws.cost import HOURLY

    assert {provider.settings.instance_type(s.role) for s in PLAN.values()} <= set(HOURLY[REGION])


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_bucket_is_made_in_the_stacks_region(aws_env, boot, progress, monkeypatch, region):
    from moto import mock_aws

    from tests.unit.test_ec2_fixtures import add_debian_images

    monkeypatch.setenv("WORKSHOP_AWS_REGION", region)
    with mock_aws():
        add_debian_images(region)
        stack = make_stack()
        make_provider(boot).prepare(stack, progress)
        location = boto3.client("s3", region_name=region).get_bucket_location(Bucket=stack.network["bucket"])
        assert (location["LocationConstraint"] or "us-east-1") == region
        assert stack.network["region"] == region


def test_a_notebook_lab_runs_up_status_and_down_on_ec2(cloud_env, boot, monkeypatch, tmp_path):
    from workshop.lab import Lab, open_lab
    from workshop.providers import PROVIDERS

    monkeypatch.setenv("WORKSHOP_PROVIDER", "ec2")
    monkeypatch.setattr(Lab, "_wait_for_ssh", lambda self, name, progress: None)  # moto's addresses are not real
    monkeypatch.setitem(PROVIDERS, "ec2", lambda: make_provider(boot))  # the boot probe, too, needs a real VM
    lab = open_lab("lab", folder=tmp_path)
    web1 = lab.up("web1")
    assert lab.planned_ip("db1") == str(ipaddress.ip_network(lab.stack.network["subnet"]).network_address + 41)
    assert [row["state"] for row in lab.status()] == ["running"]
    saved = Stack.load(tmp_path / "workshop-stack.json")
    assert saved.instances["web1"].public_host == web1.record.public_host and saved.network["region"] == REGION
    removed = lab.down()
    assert any(item.startswith("instance") for item in removed)
    assert not lab.stack.folder.exists() and not (tmp_path / "workshop-stack.json").exists()
    assert live_instances() == []


def test_workshop_down_finds_an_ec2_stack_whose_folder_was_deleted(provider, stack, progress, monkeypatch, boot):
    import shutil

    from workshop.cli import main
    from workshop.providers import PROVIDERS

    monkeypatch.setenv("WORKSHOP_PROVIDER", "ec2")
    monkeypatch.setitem(PROVIDERS, "ec2", lambda: make_provider(boot))
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    shutil.rmtree(stack.folder)
    assert main(["--stack", "lab", "down", "--yes"]) == 0
    assert provider.leftovers(stack) == [] and live_instances() == []
