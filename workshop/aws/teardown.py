"""Deleting a stack's resources, verifying by tag that none is left, and reaping expired stacks.

Resources are found by their tags, never by the descriptor alone: what an
interrupted `up` made, or what a deleted home folder forgot, is found too.

Example::

    remove_stack(cloud, "ws-alice-lab", progress)
    # -> ['instance i-0abc (web1)', 'security-group sg-0def', ...]
    stack_resources(cloud, "ws-alice-lab")
    # -> []
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from botocore.exceptions import ClientError, WaiterError

from ..progress import Progress
from .errors import CloudError
from .guard import LIVE_STATES, instances
from .media import IAM_PATH, bucket_name, delete_bucket, delete_user
from .session import Cloud, aws
from .tags import (CLASS, EXPIRES, INSTANCE, PROJECT, PROJECT_NAME, REGION, STACK, parse_expiry, project_filter,
                   stack_filter, tag_dict)

#: The order resources must go in: instances (and their disks) before the group and subnet they use.
ORDER = ("instance", "volume", "security-group", "subnet", "key-pair", "bucket", "iam-user")
DEPENDENCY_RETRIES = 12


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    tags: dict

    def __str__(self) -> str:
        name = self.tags.get(INSTANCE)
        return f"{self.kind} {self.id}" + (f" ({name})" if name else "")


def stack_resources(cloud: Cloud, stack_id: str | None = None) -> list[Resource]:
    """Every resource tagged as the stack's (or, without `stack_id`, as any workshop stack's), in deletion order."""
    ec2 = cloud.ec2
    filters = stack_filter(stack_id) if stack_id else project_filter()
    found: list[Resource] = []
    with aws("list the stack's resources"):
        found += [Resource("instance", i["InstanceId"], tag_dict(i.get("Tags")))
                  for i in instances(ec2, filters, LIVE_STATES + ["shutting-down"])]
        found += [Resource("volume", v["VolumeId"], tag_dict(v.get("Tags")))
                  for page in ec2.get_paginator("describe_volumes").paginate(Filters=filters) for v in page["Volumes"]]
        found += [Resource("security-group", g["GroupId"], tag_dict(g.get("Tags")))
                  for g in ec2.describe_security_groups(Filters=filters)["SecurityGroups"]]
        found += [Resource("subnet", s["SubnetId"], tag_dict(s.get("Tags")))
                  for s in ec2.describe_subnets(Filters=filters)["Subnets"]]
        found += [Resource("key-pair", k["KeyName"], tag_dict(k.get("Tags")))
                  for k in ec2.describe_key_pairs(Filters=filters)["KeyPairs"]]
        found += _buckets(cloud, stack_id) + _users(cloud, stack_id)
    return sorted(found, key=lambda r: ORDER.index(r.kind))


def _ours(tags: dict, stack_id: str | None) -> bool:
    return tags.get(PROJECT) == PROJECT_NAME and (stack_id is None or tags.get(STACK) == stack_id)


def _buckets(cloud: Cloud, stack_id: str | None) -> list[Resource]:
    """The region's workshop buckets (bucket listings are global: the name's suffix says the region)."""
    s3 = cloud.client("s3")
    suffix = bucket_name("", cloud.account, cloud.region)
    found = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if not name.startswith(f"{stack_id}-" if stack_id else "ws-") or not name.endswith(suffix):
            continue
        try:
            tags = tag_dict(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
        except ClientError:
            continue  # untagged or gone meanwhile: not provably ours
        if _ours(tags, stack_id):
            found.append(Resource("bucket", bucket["Name"], tags))
    return found


def _users(cloud: Cloud, stack_id: str | None) -> list[Resource]:
    """The region's workshop IAM users (IAM is global: their region tag says which stacks they serve)."""
    iam = cloud.client("iam")
    found = []
    for page in iam.get_paginator("list_users").paginate(PathPrefix=IAM_PATH):
        for user in page["Users"]:
            tags = tag_dict(iam.list_user_tags(UserName=user["UserName"])["Tags"])
            if _ours(tags, stack_id) and tags.get(REGION, cloud.region) == cloud.region:
                found.append(Resource("iam-user", user["UserName"], tags))
    return found


def remove_stack(cloud: Cloud, stack_id: str, progress: Progress, poll: float = 5) -> list[str]:
    """Delete every resource tagged with `stack_id`; return what was deleted."""
    ec2 = cloud.ec2
    resources = stack_resources(cloud, stack_id)
    removed = []
    machines = [r for r in resources if r.kind == "instance"]
    if machines:
        progress.say(stack_id, f"terminating {len(machines)} instance(s)")
        ids = [r.id for r in machines]
        with aws("terminate the stack's instances"):
            ec2.terminate_instances(InstanceIds=ids)
            try:
                ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=ids, WaiterConfig={"Delay": poll, "MaxAttempts": int(600 / poll) + 1})
            except WaiterError as exc:
                raise CloudError(f"The instances of {stack_id} did not terminate within 10 minutes ({exc}); "
                                 "run the teardown again (`workshop down`)") from exc
        removed += [str(r) for r in machines]
        # Root disks go with their instances: list again, and count those as removed too.
        remaining = stack_resources(cloud, stack_id)
        removed += [f"{r} with its instance" for r in resources if r.kind == "volume" and r not in remaining]
        resources = remaining
    for resource in resources:
        progress.say(stack_id, f"deleting {resource}")
        if delete_resource(cloud, resource, poll):
            removed.append(str(resource))
    return removed


def delete_resource(cloud: Cloud, resource: Resource, poll: float = 5) -> bool:
    """Delete one resource (not an instance); False when it was already gone."""
    ec2 = cloud.ec2
    with aws(f"delete {resource}"):
        if resource.kind == "bucket":
            return delete_bucket(cloud.client("s3"), resource.id)
        if resource.kind == "iam-user":
            return delete_user(cloud.client("iam"), resource.id)
        if resource.kind == "key-pair":
            ec2.delete_key_pair(KeyName=resource.id)
            return True
        delete = {"volume": lambda: ec2.delete_volume(VolumeId=resource.id),
                  "security-group": lambda: ec2.delete_security_group(GroupId=resource.id),
                  "subnet": lambda: ec2.delete_subnet(SubnetId=resource.id)}[resource.kind]
        # Network interfaces of just-terminated instances linger for a few seconds.
        for attempt in range(DEPENDENCY_RETRIES):
            try:
                delete()
                return True
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code.endswith(".NotFound") or code.endswith("NotFound"):
                    return False
                if code not in ("DependencyViolation", "VolumeInUse") or attempt == DEPENDENCY_RETRIES - 1:
                    raise
                time.sleep(poll)


def expired_stacks(cloud: Cloud, now: datetime | None = None, class_name: str | None = None) -> dict[str, datetime]:
    """Stacks whose every resource's expiry has passed (a resource without a readable expiry is never reaped)."""
    now = now or datetime.now(timezone.utc)
    latest: dict[str, datetime | None] = {}
    for resource in stack_resources(cloud):
        stack = resource.tags.get(STACK)
        if not stack or (class_name and resource.tags.get(CLASS) != class_name):
            continue
        expires = parse_expiry(resource.tags.get(EXPIRES, ""))
        known = latest.get(stack, expires)
        latest[stack] = None if expires is None or known is None else max(expires, known)
    return {stack: expires for stack, expires in sorted(latest.items()) if expires is not None and expires < now}


def reap(cloud: Cloud, progress: Progress, dry_run: bool = False, class_name: str | None = None,
         now: datetime | None = None) -> dict[str, list[str]]:
    """Delete every expired stack in the region (only list them with `dry_run`); verify each is gone.

    One stack that cannot be removed does not stop the others; the error at the end names it.
    """
    results, failed = {}, []
    for stack, expires in expired_stacks(cloud, now, class_name).items():
        progress.say(stack, f"expired {expires:%Y-%m-%d %H:%M} UTC" + (": would delete" if dry_run else ": deleting"))
        if dry_run:
            results[stack] = [str(r) for r in stack_resources(cloud, stack)]
            continue
        try:
            results[stack] = remove_stack(cloud, stack, progress)
            left = stack_resources(cloud, stack)
        except CloudError as exc:
            failed.append(f"{stack} ({exc})")
            continue
        if left:
            failed.append(f"{stack} (left {', '.join(map(str, left))})")
    if failed:
        raise CloudError(f"Reaping did not finish: {'; '.join(failed)}. Run `workshop reap` again")
    return results
