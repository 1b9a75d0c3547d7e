"""How every resource is marked as a stack's: the tags teardown, the guard and the reaper look for.

A stack's id joins the student and the stack name (`ws-alice-lab`), so two
students who both call their stack "lab" in one class account never touch
each other's resources.

>>> tag_list({STACK: "ws-alice-lab"})
[{'Key': 'workshop:stack', 'Value': 'ws-alice-lab'}]
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

PROJECT_NAME = "django-deployment-workshop"
PROJECT = "workshop:project"
STACK = "workshop:stack"
STUDENT = "workshop:student"
CLASS = "workshop:class"
ROLE = "workshop:role"
INSTANCE = "workshop:instance"
EXPIRES = "workshop:expires"
#: On global resources (IAM users) only: the region of the stack they serve.
REGION = "workshop:region"
#: The instance's SSH host key (public part): an instance found again later is still pinned.
HOST_KEY = "workshop:host-key"
#: Every resource the provider creates carries these.
REQUIRED = (PROJECT, STACK, STUDENT, CLASS, ROLE, EXPIRES)


def stack_id(student: str, stack_name: str) -> str:
    return f"ws-{student}-{stack_name}"


def expiry(hours: float, now: datetime | None = None) -> str:
    """When a stack started now for `hours` expires, as the tag stores it (UTC, ISO 8601)."""
    now = now or datetime.now(timezone.utc)
    return (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def stack_tags(stack: str, student: str, class_name: str, expires: str, role: str = "shared", **extra: str) -> dict:
    """The tags of one resource of `stack` (role "shared" for what all its instances use)."""
    return {PROJECT: PROJECT_NAME, STACK: stack, STUDENT: student, CLASS: class_name, ROLE: role,
            EXPIRES: expires, "Name": f"{stack}-{extra.pop('name', role)}", **extra}


def tag_list(tags: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(tags: list[dict] | None) -> dict:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def tag_spec(resource_type: str, tags: dict) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)}]


def stack_filter(stack: str) -> list[dict]:
    return [{"Name": f"tag:{STACK}", "Values": [stack]}]


def project_filter() -> list[dict]:
    return [{"Name": f"tag:{PROJECT}", "Values": [PROJECT_NAME]}]
