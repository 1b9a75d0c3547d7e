"""EC2 cost guard: the estimate printed before anything exists, limits per stack and per class, the vCPU quota."""

from __future__ import annotations

import boto3
import pytest

from tests.unit.test_ec2_fixtures import (  # noqa: F401 (fixtures)
    REGION, aws_env, boot, cloud_env, make_provider, make_stack, progress, provider, stack,
)
from workshop.aws import guard, network
from workshop.aws.cost import PRICES_AS_OF, estimate, format_estimate
from workshop.aws.errors import CostGuardError, QuotaError
from workshop.aws.settings import Settings
from workshop.errors import WorkshopError
from workshop.topology import PLAN, spec

ROLES = [s.role for s in PLAN.values()]


def running() -> int:
    reservations = boto3.client("ec2", region_name=REGION).describe_instances(Filters=[
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    return sum(len(r["Instances"]) for r in reservations)


def test_the_default_stack_estimate_is_instances_times_hours_times_the_table_price():
    est = estimate("us-east-1", ROLES, Settings())
    # 4 t3.small (web1, web2, db1, db2) and 6 t3.micro, plus a public IPv4 and an 8 GB gp3 disk each.
    compute = 4 * 0.0208 + 6 * 0.0104
    extras = 10 * (0.005 + 8 * 0.08 / 730)
    assert est.instances == 10
    assert est.hourly == pytest.approx(compute + extras)
    assert est.total == pytest.approx((compute + extras) * 8)
    text = format_estimate(est, "lab")
    assert PRICES_AS_OF in text and "10 instances: $0.2044/h, $1.63 for 8 h" in text


def test_the_estimate_follows_the_chosen_types_and_hours():
    settings = Settings.from_env({"WORKSHOP_EC2_TYPES": "db=t3.medium", "WORKSHOP_EC2_HOURS": "2"})
    est = estimate("eu-west-1", ["db", "db"], settings)
    assert est.total == pytest.approx(2 * 2 * (0.0456 + 0.005 + 8 * 0.088 / 730))


def test_a_type_or_region_without_a_price_is_refused_rather_than_guessed():
    with pytest.raises(CostGuardError, match="No price for t3.small in ap-south-1"):
        estimate("ap-south-1", ["web"], Settings())
    with pytest.raises(CostGuardError, match="m5.24xlarge"):
        estimate("us-east-1", ["web"], Settings(types={"web": "m5.24xlarge"}))


def test_the_estimate_is_printed_before_the_first_resource_is_created(provider, stack, progress, capsys,
                                                                     monkeypatch):
    seen = []
    real = network.create_subnet

    def create_subnet(*args, **kwargs):
        seen.append(capsys.readouterr().out)
        return real(*args, **kwargs)

    monkeypatch.setattr(network, "create_subnet", create_subnet)
    provider.prepare(stack, progress)
    assert len(seen) == 1 and "Cost estimate for stack 'lab' in us-east-1" in seen[0]
    provider.prepare(stack, progress)
    assert "Cost estimate" not in capsys.readouterr().out  # once, before the stack exists


def test_a_price_missing_for_the_region_stops_up_before_anything_exists(provider, stack, progress, monkeypatch):
    monkeypatch.setitem(provider.settings.types, "web", "x9.huge")
    with pytest.raises(CostGuardError):
        provider.prepare(stack, progress)
    assert provider.leftovers(stack) == []


def test_the_stack_limit_refuses_one_instance_too_many_and_launches_nothing(boot, stack, progress, monkeypatch):
    monkeypatch.setenv("WORKSHOP_MAX_INSTANCES_PER_STACK", "2")
    provider = make_provider(boot)
    provider.prepare(stack, progress)
    for name in ("web1", "web2"):
        provider.create_instance(stack, spec(name), "", progress)
    with pytest.raises(CostGuardError, match="WORKSHOP_MAX_INSTANCES_PER_STACK=2"):
        provider.create_instance(stack, spec("db1"), "", progress)
    assert running() == 2
    provider.create_instance(stack, spec("web1"), "", progress)  # resuming an existing one is not a new instance


def test_the_class_limit_counts_every_stack_of_the_class_and_only_that_class(boot, stack, progress, monkeypatch):
    monkeypatch.setenv("WORKSHOP_MAX_INSTANCES_PER_CLASS", "2")
    alice = make_provider(boot)
    alice.prepare(stack, progress)
    alice.create_instance(stack, spec("web1"), "", progress)
    monkeypatch.setenv("WORKSHOP_STUDENT", "bob")
    bob, bobs = make_provider(boot), make_stack("bobs")
    bob.prepare(bobs, progress)
    bob.create_instance(bobs, spec("web1"), "", progress)
    with pytest.raises(CostGuardError, match="Class 'pycon' already has 2 instances"):
        bob.create_instance(bobs, spec("web2"), "", progress)
    monkeypatch.setenv("WORKSHOP_CLASS", "other-class")
    carol, carols = make_provider(boot), make_stack("carols")
    carol.prepare(carols, progress)
    carol.create_instance(carols, spec("web1"), "", progress)
    assert running() == 3


def test_a_vcpu_quota_without_room_stops_the_launch_with_the_fix(provider, stack, progress, monkeypatch):
    provider.prepare(stack, progress)
    provider.create_instance(stack, spec("web1"), "", progress)
    monkeypatch.setattr(guard, "vcpu_quota", lambda cloud: 3.0)
    with pytest.raises(QuotaError, match="uses 2 of its 3 on-demand standard vCPUs.*L-1216C47A"):
        provider.create_instance(stack, spec("web2"), "", progress)
    assert running() == 1


def test_quota_unknown_to_service_quotas_does_not_block(provider, stack, progress):
    provider.prepare(stack, progress)
    assert guard.vcpu_quota(provider._cloud(stack)) is None  # moto, like some accounts, has no EC2 quota data
    provider.create_instance(stack, spec("web1"), "", progress)
    assert running() == 1


@pytest.mark.parametrize("env, message", [
    ({"WORKSHOP_EC2_TYPES": "database=t3.small"}, "ROLE=TYPE"),
    ({"WORKSHOP_EC2_HOURS": "-1"}, "positive"),
    ({"WORKSHOP_MAX_INSTANCES_PER_CLASS": "many"}, "positive"),
    ({"WORKSHOP_PUBLIC_CIDR": "my laptop"}, "203.0.113.7/32"),
])
def test_bad_settings_are_refused_with_an_example(env, message):
    with pytest.raises(WorkshopError, match=message):
        Settings.from_env(env)


def test_names_derived_from_the_student_fit_every_aws_name_rule():
    settings = Settings.from_env({"WORKSHOP_STUDENT": "Zoë O'Brien-Smith the Third"})
    assert settings.student == "zo-o-brien-smit"
    from workshop.aws.media import bucket_name

    name = bucket_name(f"ws-{settings.student}-{'a' * 31}", "123456789012", "eu-central-1")
    assert len(name) <= 63 and name == name.lower()
