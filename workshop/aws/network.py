"""What a stack's instances share on AWS: a subnet of their own, a security group, the key pair.

Like the local provider's network per stack, each stack gets its own /24
(inside the default VPC) so private addresses can be pinned from the topology
(web1 is always .21) without colliding with another student's stack.

Example::

    sync_ingress(ec2, group_id, ["203.0.113.7/32"])
"""

from __future__ import annotations

import hashlib
import ipaddress

import requests

from ..topology import PLAN
from .errors import CloudError
from .session import aws
from .tags import tag_spec

#: What the student and the grader reach from outside: every port the topology publishes.
PUBLIC_PORTS = tuple(sorted({port for spec in PLAN.values() for port in spec.ports}))
CHECKIP_URL = "https://checkip.amazonaws.com"


def public_cidr() -> str:
    """This machine's public IPv4 address as a /32, as AWS sees it."""
    try:
        address = ipaddress.ip_address(requests.get(CHECKIP_URL, timeout=5).text.strip())
    except (requests.RequestException, ValueError) as exc:
        raise CloudError(f"Could not find this machine's public address at {CHECKIP_URL} ({exc}): set "
                         "WORKSHOP_PUBLIC_CIDR=YOUR.PUBLIC.IP/32") from exc
    if address.version != 4:
        raise CloudError(f"{CHECKIP_URL} answered with IPv6 {address}: set WORKSHOP_PUBLIC_CIDR to your IPv4/32")
    return f"{address}/32"


def default_vpc(ec2) -> dict:
    with aws("find the default VPC"):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise CloudError(f"There is no default VPC in {ec2.meta.region_name}: create one with "
                         f"`aws ec2 create-default-vpc --region {ec2.meta.region_name}` (free), then try again")
    return vpcs[0]


def availability_zone(ec2, instance_types: set[str], seed: str) -> str:
    """A zone offering every type the stack uses, spread over the zones by `seed` (the stack id)."""
    with aws("list the availability zones"):
        offered: dict[str, set[str]] = {}
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": sorted(instance_types)}])
        for page in pages:
            for offer in page["InstanceTypeOfferings"]:
                offered.setdefault(offer["Location"], set()).add(offer["InstanceType"])
    zones = sorted(zone for zone, types in offered.items() if instance_types <= types)
    if not zones:
        wanted = ", ".join(sorted(instance_types))
        raise CloudError(f"No availability zone of {ec2.meta.region_name} offers all of {wanted}: choose other types "
                         "(WORKSHOP_EC2_TYPES) or another region")
    return zones[_hash(seed) % len(zones)]


def free_subnet(ec2, vpc: dict, seed: str) -> ipaddress.IPv4Network:
    """A /24 of the VPC that no subnet uses, picked from a start that depends on `seed`."""
    with aws("list the subnets of the default VPC"):
        used = [ipaddress.ip_network(subnet["CidrBlock"]) for subnet in
                ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]]
    candidates = list(ipaddress.ip_network(vpc["CidrBlock"]).subnets(new_prefix=24))
    start = _hash(seed) % len(candidates)
    for subnet in candidates[start:] + candidates[:start]:
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise CloudError(f"The default VPC {vpc['VpcId']} has no free /24 left for a stack subnet: remove old stacks "
                     "(`workshop reap`, `workshop down`)")


def create_subnet(ec2, vpc: dict, cidr: ipaddress.IPv4Network, zone: str, tags: dict) -> str:
    with aws(f"create the stack subnet {cidr}"):
        subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=str(cidr), AvailabilityZone=zone,
                                   TagSpecifications=tag_spec("subnet", tags))["Subnet"]
    return subnet["SubnetId"]


def create_security_group(ec2, vpc: dict, name: str, tags: dict) -> str:
    """A group whose members reach each other on every port; outside access is added by sync_ingress."""
    with aws("create the stack security group"):
        group = ec2.create_security_group(GroupName=name, VpcId=vpc["VpcId"], TagSpecifications=tag_spec(
            "security-group", tags), Description="Workshop stack: SSH/HTTP from the student, all within the stack")
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"], "Description": "the stack"}]}])
    return group["GroupId"]


def sync_ingress(ec2, group_id: str, cidrs: list[str]) -> None:
    """Admit PUBLIC_PORTS from exactly `cidrs` (the student's address moved: the old one is revoked)."""
    with aws("update the security group's rules"):
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        present = {(rule["FromPort"], cidr["CidrIp"]) for rule in group["IpPermissions"]
                   if rule["IpProtocol"] == "tcp" for cidr in rule.get("IpRanges", [])}
        wanted = {(port, cidr) for port in PUBLIC_PORTS for cidr in cidrs}
        if wanted - present:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(wanted - present))
        if present - wanted:
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(present - wanted))


def _permissions(rules: set[tuple[int, str]]) -> list[dict]:
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
             "IpRanges": [{"CidrIp": cidr, "Description": "workshop student or instructor"}]}
            for port, cidr in sorted(rules)]


def import_key_pair(ec2, name: str, public_key: str, tags: dict) -> None:
    """The student's stack key, as an EC2 key pair (the private key never leaves the student's machine)."""
    with aws("import the stack's SSH key"):
        ec2.import_key_pair(KeyName=name, PublicKeyMaterial=public_key.encode(),
                                   TagSpecifications=tag_spec("key-pair", tags))


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)
