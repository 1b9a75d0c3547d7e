"""EC2 provider: each instance is a Debian 12 VM in a subnet of the stack's own, on the student's AWS account.

Selected with WORKSHOP_PROVIDER=ec2; the notebooks do not change. Like the
local provider, an instance has a pinned private address (used between
instances) and a public endpoint (its public IP, reached only from the
student's address and the instructor's network). Everything it creates is
tagged with the stack's id, so teardown, the cost guard and the reaper find
exactly that. Settings: workshop/aws/settings.py; costs and manual run: docs/ec2.md.

Example::

    provider = EC2Provider()
    provider.states(stack)
    # -> {'web1': 'running'}
"""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

from botocore.exceptions import WaiterError

from ..aws import guard, media, network
from ..aws.cost import estimate, format_estimate, price
from ..aws.errors import BootError
from ..aws.image import find_debian_image
from ..aws.session import Cloud, aws, connect
from ..aws.settings import Settings
from ..aws.tags import (EXPIRES, HOST_KEY, INSTANCE, expiry, stack_filter, stack_id, stack_tags, tag_dict, tag_list,
                         tag_spec)
from ..aws.teardown import Resource, delete_resource, remove_stack, stack_resources
from ..aws.userdata import host_key_pair, render
from ..errors import RemoteError
from ..keys import public_key_line
from ..progress import Progress
from ..remote import Remote
from ..stack import InstanceRecord, Stack
from ..topology import PLAN, InstanceSpec
from ..waiting import no_error, wait_until
from .base import RUNNING, STOPPED, Provider

#: First boot installs every server package: about 3 minutes on a t3, 15 at most.
BOOT_TIMEOUT = 900
ROOT_VOLUME_GB = 8


def wait_until_ready(stack: Stack, record: InstanceRecord, progress: Progress, timeout: float = BOOT_TIMEOUT) -> None:
    """Wait until the instance answers SSH and cloud-init has finished installing; BootError if it failed."""
    progress.say(record.name, "first boot: installing the workshop packages (about 3 minutes)")
    started = time.monotonic()

    def booted() -> None:
        remote = Remote(record, stack.ssh_user, stack.ssh_key, connect_timeout=5)
        try:
            status = remote.run("cloud-init status --wait", timeout=max(started + timeout - time.monotonic(), 10))
            if "status: done" not in status.stdout:
                log = remote.run("tail -n 15 /var/log/cloud-init-output.log").stdout.strip()
                raise BootError(f"{record.name} failed its first boot (cloud-init: {status.stdout.strip()}); the end "
                                f"of /var/log/cloud-init-output.log:\n{log}")
        finally:
            remote.close()

    try:
        wait_until(booted, timeout, 5, done=no_error, retry_on=(RemoteError,))
    except RemoteError as exc:
        raise BootError(f"{record.name} did not finish booting within {timeout:.0f}s (last: {exc})") from exc
    progress.say(record.name, "booted, packages installed")


class EC2Provider(Provider):
    name = "ec2"
    ssh_user = "root"
    # One launch at a time: each launch re-counts the account's instances against the
    # class limits (guard.check_limits), which concurrent launches would race.
    concurrent_creates = False

    def __init__(self, settings: Settings | None = None, probe=wait_until_ready, poll: float = 5):
        self.settings = settings or Settings.from_env()
        self.probe = probe
        self.poll = poll
        self._clouds: dict[str | None, Cloud] = {}

    def _cloud(self, stack: Stack) -> Cloud:
        """The stack's account and region (the region it was made in, whatever the environment says now)."""
        region = stack.network.get("region") or self.settings.region
        if region not in self._clouds:
            self._clouds[region] = connect(region)
        return self._clouds[region]

    def _stack_id(self, stack: Stack) -> str:
        return stack.network.get("stack_id") or stack_id(self.settings.student, stack.name)

    def _tags(self, stack: Stack, role: str = "shared", **extra: str) -> dict:
        net = stack.network
        return stack_tags(self._stack_id(stack), net.get("student", self.settings.student),
                          net.get("class", self.settings.class_name), net["expires"], role, **extra)

    # -- shared resources -------------------------------------------------
    def prepare(self, stack: Stack, progress: Progress) -> None:
        cloud = self._cloud(stack)
        ec2, ident = cloud.ec2, self._stack_id(stack)
        resources = stack_resources(cloud, ident)
        existing = {r.kind: r for r in resources}
        image = {"ImageId": stack.network["image"], "RootDeviceName": stack.network["root_device"]} \
            if "image" in stack.network else find_debian_image(ec2)
        if not resources:
            roles = [spec.role for spec in PLAN.values()]
            print(format_estimate(estimate(cloud.region, roles, self.settings), stack.name), file=progress.stream,
                  flush=True)
        cidrs = [self.settings.public_cidr or network.public_cidr()]
        cidrs += [self.settings.instructor_cidr] if self.settings.instructor_cidr else []
        saved = dict(stack.network)
        stack.network.update(stack_id=ident, region=cloud.region, account=cloud.account, image=image["ImageId"],
                             root_device=image.get("RootDeviceName", "/dev/xvda"),
                             student=stack.network.get("student", self.settings.student),
                             **{"class": stack.network.get("class", self.settings.class_name)},
                             expires=_later(stack.network.get("expires"), self.settings.hours))
        created: list[Resource] = []
        try:
            self._extend_expiry(cloud, resources, stack.network["expires"])
            self._ensure_network(cloud, stack, existing, cidrs, created, progress)
            self._ensure_media(cloud, stack, existing, created, progress)
        except BaseException:
            stack.network.clear()
            stack.network.update(saved)
            self._roll_back(cloud, created, progress)
            raise

    def _ensure_network(self, cloud: Cloud, stack: Stack, existing: dict, cidrs: list[str],
                        created: list[Resource], progress: Progress) -> None:
        ec2, net, ident = cloud.ec2, stack.network, self._stack_id(stack)
        vpc = network.default_vpc(ec2)
        if "subnet" in existing:
            with aws("describe the stack subnet"):
                subnet = ec2.describe_subnets(SubnetIds=[existing["subnet"].id])["Subnets"][0]
            net.update(subnet_id=subnet["SubnetId"], subnet=subnet["CidrBlock"], zone=subnet["AvailabilityZone"])
        else:
            types = {self.settings.instance_type(spec.role) for spec in PLAN.values()}
            zone = network.availability_zone(ec2, types, ident)
            cidr = network.free_subnet(ec2, vpc, ident)
            progress.say(ident, f"creating the stack subnet {cidr} in {zone}")
            net.update(subnet_id=network.create_subnet(ec2, vpc, cidr, zone, self._tags(stack)), subnet=str(cidr),
                       zone=zone)
            created.append(Resource("subnet", net["subnet_id"], {}))
        if "security-group" in existing:
            net["security_group"] = existing["security-group"].id
        else:
            progress.say(ident, "creating the security group (all traffic within the stack)")
            net["security_group"] = network.create_security_group(ec2, vpc, ident, self._tags(stack))
            created.append(Resource("security-group", net["security_group"], {}))
        progress.say(ident, f"admitting SSH and HTTP from {', '.join(cidrs)} only")
        if any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in cidrs):
            progress.say(ident, "warning: that is the whole internet: anyone can try SSH and the site's admin on "
                                "these machines; set WORKSHOP_PUBLIC_CIDR (or WORKSHOP_INSTRUCTOR_CIDR) to your own "
                                "address or network, e.g. 203.0.113.7/32")
        network.sync_ingress(ec2, net["security_group"], cidrs)
        if "key-pair" not in existing:
            progress.say(ident, "importing the stack's SSH key")
            public = public_key_line(Path(stack.ssh_key))
            network.import_key_pair(ec2, ident, public, self._tags(stack))
            created.append(Resource("key-pair", ident, {}))
        net["key_name"] = ident

    def _ensure_media(self, cloud: Cloud, stack: Stack, existing: dict, created: list[Resource],
                      progress: Progress) -> None:
        net, ident = stack.network, self._stack_id(stack)
        net["bucket"] = media.bucket_name(ident, cloud.account, cloud.region)
        if "bucket" not in existing:
            progress.say(ident, f"creating the media bucket {net['bucket']}")
            # S3 tags a bucket only once it exists: an interruption in between would leave a bucket that no
            # tag finds, so its rollback is registered first (deleting a bucket never made is a no-op).
            created.append(Resource("bucket", net["bucket"], {}))
            media.create_bucket(cloud, net["bucket"], self._tags(stack, name="media"), progress)
        net["media_user"] = media.user_name(ident)
        if "iam-user" in existing and (stack.folder / media.CREDENTIALS_FILE).is_file():
            return
        if "iam-user" in existing:
            progress.say(ident, "the media key is not on this machine: replacing it")
            media.delete_user(cloud.client("iam"), net["media_user"])
        progress.say(ident, f"creating IAM user {net['media_user']}, allowed to use {net['bucket']} only")
        created.append(Resource("iam-user", net["media_user"], {}))
        media.save_credentials(stack, media.create_user(cloud, net["media_user"], net["bucket"],
                                                        self._tags(stack, name="media")))

    def _extend_expiry(self, cloud: Cloud, resources: list[Resource], expires: str) -> None:
        """Using a stack again keeps it alive: its resources get the new expiry."""
        ec2_ids = [r.id for r in resources if r.kind not in ("bucket", "iam-user", "key-pair")]
        with aws("extend the stack's expiry"):
            names = [r.id for r in resources if r.kind == "key-pair"]
            if names:  # tags need the key pair's id; it is found (and deleted) by its name
                ec2_ids += [k["KeyPairId"] for k in cloud.ec2.describe_key_pairs(KeyNames=names)["KeyPairs"]]
            if ec2_ids:
                cloud.ec2.create_tags(Resources=ec2_ids, Tags=[{"Key": EXPIRES, "Value": expires}])
            for r in resources:
                if r.kind == "bucket":
                    cloud.client("s3").put_bucket_tagging(Bucket=r.id, Tagging={"TagSet": tag_list(
                        {**r.tags, EXPIRES: expires})})
                elif r.kind == "iam-user":
                    cloud.client("iam").tag_user(UserName=r.id, Tags=[{"Key": EXPIRES, "Value": expires}])

    def _roll_back(self, cloud: Cloud, created: list[Resource], progress: Progress) -> None:
        """Delete what an interrupted or failed `prepare` made, newest first, so nothing is half-created."""
        for resource in reversed(created):
            progress.say(resource.id, "removing (the step failed or was interrupted)")
            try:
                delete_resource(cloud, resource, self.poll)
            except Exception as exc:  # keep rolling back the rest; `workshop down` finds any leftover by tag
                progress.say(resource.id, f"could not remove it ({exc}); `workshop down` will")

    # -- instances --------------------------------------------------------
    def _instance(self, cloud: Cloud, stack: Stack, name: str) -> dict | None:
        with aws(f"look up {name}"):
            found = guard.instances(cloud.ec2, stack_filter(self._stack_id(stack)) + [
                {"Name": f"tag:{INSTANCE}", "Values": [name]}])
        return found[0] if found else None

    def _record(self, instance: dict, spec: InstanceSpec) -> InstanceRecord:
        return InstanceRecord(
            name=spec.name, role=spec.role, private_ip=instance["PrivateIpAddress"],
            public_host=instance.get("PublicIpAddress", ""), ports={str(port): port for port in spec.ports},
            provider_id=instance["InstanceId"], host_key=tag_dict(instance.get("Tags")).get(HOST_KEY, ""),
        )

    def _wait(self, cloud: Cloud, waiter: str, instance_id: str, name: str) -> dict:
        try:
            cloud.ec2.get_waiter(waiter).wait(InstanceIds=[instance_id], WaiterConfig={
                "Delay": self.poll, "MaxAttempts": int(BOOT_TIMEOUT / self.poll) + 1})
        except WaiterError as exc:
            reason = (exc.last_response or {}).get("Reservations", [{}])[0].get("Instances", [{}])[0]
            raise BootError(f"{name} ({instance_id}) did not reach the expected state ({waiter}): "
                            f"{reason.get('StateReason', {}).get('Message', exc)}") from exc
        with aws(f"describe {name}"):
            return cloud.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]

    def create_instance(self, stack: Stack, spec: InstanceSpec, public_key: str, progress: Progress) -> InstanceRecord:
        cloud = self._cloud(stack)
        found = self._instance(cloud, stack, spec.name)
        if found is not None:
            return self._resume(cloud, stack, found, spec, progress)
        net = stack.network
        guard.check_limits(cloud.ec2, self._stack_id(stack), net["class"], self.settings)
        instance_type = self.settings.instance_type(spec.role)
        guard.check_vcpu_quota(cloud, instance_type)
        ip = str(ipaddress.ip_network(net["subnet"]).network_address + spec.host_number)
        progress.say(spec.name, f"creating a {instance_type} (${price(cloud.region, instance_type):.4f}/h) at {ip}")
        host_private, host_public = host_key_pair()
        tags = self._tags(stack, spec.role, name=spec.name, **{INSTANCE: spec.name})
        instance_id = None
        try:
            with aws(f"launch {spec.name} ({instance_type})"):
                instance_id = cloud.ec2.run_instances(
                    ImageId=net["image"], InstanceType=instance_type, MinCount=1, MaxCount=1, KeyName=net["key_name"],
                    UserData=render(spec.name, host_private, host_public),
                    NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": net["subnet_id"], "PrivateIpAddress": ip,
                                        "Groups": [net["security_group"]], "AssociatePublicIpAddress": True,
                                        "DeleteOnTermination": True}],
                    BlockDeviceMappings=[{"DeviceName": net["root_device"], "Ebs": {
                        "VolumeSize": ROOT_VOLUME_GB, "VolumeType": "gp3", "DeleteOnTermination": True}}],
                    InstanceInitiatedShutdownBehavior="stop",
                    # IMDSv2 only: a request forged through the site (SSRF) cannot read the metadata service.
                    MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled",
                                     "HttpPutResponseHopLimit": 1},
                    TagSpecifications=tag_spec("instance", {**tags, HOST_KEY: host_public}) + tag_spec("volume", tags),
                )["Instances"][0]["InstanceId"]
            guard.recheck_limits(cloud.ec2, self._stack_id(stack), net["class"], self.settings)
            record = self._record(self._wait(cloud, "instance_running", instance_id, spec.name), spec)
            self.probe(stack, record, progress)
            return record
        except BaseException:
            if instance_id:
                progress.say(spec.name, f"terminating {instance_id}: it did not come up (or you interrupted)")
                with aws(f"terminate {instance_id}"):
                    cloud.ec2.terminate_instances(InstanceIds=[instance_id])
            raise

    def _resume(self, cloud: Cloud, stack: Stack, instance: dict, spec: InstanceSpec,
                progress: Progress) -> InstanceRecord:
        state, instance_id = instance["State"]["Name"], instance["InstanceId"]
        if state == "running":
            progress.say(spec.name, "already running")
        else:
            if state == "stopping":
                self._wait(cloud, "instance_stopped", instance_id, spec.name)
            if state != "pending":
                progress.say(spec.name, "starting it again")
                with aws(f"start {spec.name}"):
                    cloud.ec2.start_instances(InstanceIds=[instance_id])
            instance = self._wait(cloud, "instance_running", instance_id, spec.name)
        record = self._record(instance, spec)
        self.probe(stack, record, progress)
        return record

    def states(self, stack: Stack) -> dict[str, str]:
        cloud = self._cloud(stack)
        with aws("list the stack's instances"):
            found = guard.instances(cloud.ec2, stack_filter(self._stack_id(stack)))
        return {tag_dict(i.get("Tags")).get(INSTANCE, i["InstanceId"]): RUNNING if i["State"]["Name"] == "running"
                else STOPPED for i in found}

    def _require(self, cloud: Cloud, stack: Stack, name: str) -> dict:
        instance = self._instance(cloud, stack, name)
        if instance is None:
            raise BootError(f"Stack {stack.name!r} has no instance {name!r} on EC2: start it with `workshop up {name}`")
        return instance

    def start(self, stack: Stack, name: str, progress: Progress) -> None:
        """Start again; EC2 gives a new public address, so the descriptor (and its copies) is updated."""
        cloud = self._cloud(stack)
        record = self._resume(cloud, stack, self._require(cloud, stack, name), PLAN[name], progress)
        if name in stack.instances:
            stack.instances[name].public_host = record.public_host
            stack.save()

    def stop(self, stack: Stack, name: str) -> None:
        cloud = self._cloud(stack)
        instance_id = self._require(cloud, stack, name)["InstanceId"]
        with aws(f"stop {name}"):
            cloud.ec2.stop_instances(InstanceIds=[instance_id])
        self._wait(cloud, "instance_stopped", instance_id, name)

    def kill(self, stack: Stack, name: str) -> None:
        """A forced stop: the hypervisor powers the VM off without a shutdown, like pulling the plug."""
        cloud = self._cloud(stack)
        instance_id = self._require(cloud, stack, name)["InstanceId"]
        with aws(f"force-stop {name}"):
            cloud.ec2.stop_instances(InstanceIds=[instance_id], Force=True)

    # -- teardown ---------------------------------------------------------
    def destroy(self, stack: Stack, progress: Progress) -> list[str]:
        return remove_stack(self._cloud(stack), self._stack_id(stack), progress, self.poll)

    def leftovers(self, stack: Stack) -> list[str]:
        return [str(resource) for resource in stack_resources(self._cloud(stack), self._stack_id(stack))]


def _later(current: str | None, hours: float) -> str:
    """The expiry `hours` from now, or the current one if that is later (ISO strings in UTC sort by time)."""
    return max(filter(None, (current, expiry(hours))))
