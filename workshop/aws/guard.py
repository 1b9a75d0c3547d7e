"""Hard limits checked before an instance is launched (and the stack's and class's again after): per stack,
per class, and the account's vCPU quota.

Example::

    check_limits(cloud.ec2, "ws-alice-lab", "pycon", Settings())
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..topology import PLAN
from .errors import CostGuardError, QuotaError
from .session import Cloud, aws
from .settings import Settings
from .tags import CLASS, STACK

#: Service Quotas' "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", counted in vCPUs.
VCPU_QUOTA = ("ec2", "L-1216C47A")
STANDARD_FAMILIES = tuple("acdhimrtz")
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
_STACK_LIMIT, _CLASS_LIMIT = "WORKSHOP_MAX_INSTANCES_PER_STACK", "WORKSHOP_MAX_INSTANCES_PER_CLASS"


def instances(ec2, filters: list[dict], states: list[str] = LIVE_STATES) -> list[dict]:
    """Instances matching `filters` in `states` (by default those that exist: not terminated or shutting down)."""
    found = []
    for page in ec2.get_paginator("describe_instances").paginate(
            Filters=filters + [{"Name": "instance-state-name", "Values": states}]):
        for reservation in page["Reservations"]:
            found.extend(reservation["Instances"])
    return found


def check_limits(ec2, stack_id: str, class_name: str, settings: Settings) -> None:
    """CostGuardError when one more instance would pass the stack's or the class's limit."""
    in_stack, in_class = _counts(ec2, stack_id, class_name)
    if in_stack + 1 > settings.max_per_stack:
        raise CostGuardError(f"Stack {stack_id} already has {in_stack} instances, the limit per stack "
                             f"({_STACK_LIMIT}={settings.max_per_stack}): stop here, or raise the limit")
    if in_class + 1 > settings.max_per_class:
        raise CostGuardError(f"Class {class_name!r} already has {in_class} instances, the limit per class "
                             f"({_CLASS_LIMIT}={settings.max_per_class}): the instructor decides whether to raise "
                             "it; `workshop reap` removes expired stacks")


def recheck_limits(ec2, stack_id: str, class_name: str, settings: Settings) -> None:
    """After a launch: CostGuardError when the stack or the class is now over its limit (launches that ran
    at the same time all passed check_limits). The caller terminates its instance, so every launch that
    keeps one saw, after launching, a count within the limits, and the limits hold whatever the timing."""
    in_stack, in_class = _counts(ec2, stack_id, class_name)
    raced = "another launch ran at the same time, and this one was undone: run `workshop up` again"
    if in_stack > settings.max_per_stack:
        raise CostGuardError(f"Stack {stack_id} has {in_stack} instances with this one, over the limit per stack "
                             f"({_STACK_LIMIT}={settings.max_per_stack}): {raced}")
    if in_class > settings.max_per_class:
        raise CostGuardError(f"Class {class_name!r} has {in_class} instances with this one, over the limit per "
                             f"class ({_CLASS_LIMIT}={settings.max_per_class}): {raced} once the class has room")


def _counts(ec2, stack_id: str, class_name: str) -> tuple[int, int]:
    """Instances that exist (pending to stopped) in the stack, and in the class."""
    with aws("count the stack's and the class's instances"):
        return (len(instances(ec2, [{"Name": f"tag:{STACK}", "Values": [stack_id]}])),
                len(instances(ec2, [{"Name": f"tag:{CLASS}", "Values": [class_name]}])))


def vcpu_quota(cloud: Cloud) -> float | None:
    """The account's on-demand standard vCPU quota in the region, or None where Service Quotas cannot tell."""
    try:
        quota = cloud.client("service-quotas").get_service_quota(ServiceCode=VCPU_QUOTA[0], QuotaCode=VCPU_QUOTA[1])
    except ClientError:
        return None
    return quota["Quota"]["Value"]


def vcpus(ec2, instance_types: set[str]) -> dict[str, int]:
    with aws("look up instance types"):
        described = ec2.describe_instance_types(InstanceTypes=sorted(instance_types))["InstanceTypes"]
    return {item["InstanceType"]: item["VCpuInfo"]["DefaultVCpus"] for item in described}


def standard_vcpus_in_use(ec2) -> int:
    """vCPUs of the account's pending and running standard-family instances in the region (what the quota counts)."""
    with aws("count the account's running instances"):
        running = [i["InstanceType"] for i in instances(ec2, []) if i["State"]["Name"] in ("pending", "running")
                   and i["InstanceType"][0] in STANDARD_FAMILIES]
    if not running:
        return 0
    sizes = vcpus(ec2, set(running))
    return sum(sizes[instance_type] for instance_type in running)


def check_vcpu_quota(cloud: Cloud, instance_type: str) -> None:
    """QuotaError before launching `instance_type` when the account's quota has no room for it."""
    quota = vcpu_quota(cloud)
    if quota is None:
        return
    needed = vcpus(cloud.ec2, {instance_type})[instance_type]
    used = standard_vcpus_in_use(cloud.ec2)
    if used + needed > quota:
        raise QuotaError(
            f"{instance_type} needs {needed} vCPUs but the account uses {used} of its {quota:g} on-demand standard "
            f"vCPUs in {cloud.region}: stop other instances, or request a higher quota (Service Quotas > Amazon EC2 > "
            f"Running On-Demand Standard instances, code {VCPU_QUOTA[1]}); `workshop doctor` shows what a full "
            "stack needs"
        )


def stack_vcpus(ec2, settings: Settings) -> int:
    """vCPUs of the whole course topology with the chosen types (what the quota must leave room for)."""
    types = [settings.instance_type(spec.role) for spec in PLAN.values()]
    sizes = vcpus(ec2, set(types))
    return sum(sizes[instance_type] for instance_type in types)
