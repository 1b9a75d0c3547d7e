"""What a stack costs: a dated price table and the estimate printed before anything is created.

Prices are AWS's published on-demand rates for Linux in USD, transcribed by
hand on PRICES_AS_OF (t3 rates have not changed since t3's 2018 launch; the
public IPv4 charge dates from 2024-02-01). A region or type missing here is
refused rather than guessed: add its row from
https://aws.amazon.com/ec2/pricing/on-demand/ and move the date.

>>> print(format_estimate(estimate("eu-west-1", ["web", "db"], Settings()), "lab"))  # doctest: +ELLIPSIS
Cost estimate for stack 'lab' in eu-west-1 (on-demand Linux prices of ...):
   1 x web      t3.small   $0.0228/h + public IPv4 $0.0050/h + 8 GB gp3 $0.0010/h = $0.0288/h each
   1 x db       t3.small   $0.0228/h + public IPv4 $0.0050/h + 8 GB gp3 $0.0010/h = $0.0288/h each
  2 instances: $0.0575/h, $0.46 for 8 h (WORKSHOP_EC2_HOURS; ...)
...
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .errors import CostGuardError
from .settings import Settings

PRICES_AS_OF = "2026-11-23"
#: USD per instance-hour, on-demand, Linux, shared tenancy.
HOURLY = {
    "us-east-1": {"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832},
    "us-east-2": {"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832},
    "us-west-2": {"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832},
    "eu-west-1": {"t3.micro": 0.0114, "t3.small": 0.0228, "t3.medium": 0.0456, "t3.large": 0.0912},
    "eu-central-1": {"t3.micro": 0.0120, "t3.small": 0.0240, "t3.medium": 0.0480, "t3.large": 0.0960},
}
#: USD per GB-month of gp3 (the root disk of every instance).
GP3_GB_MONTH = {"us-east-1": 0.08, "us-east-2": 0.08, "us-west-2": 0.08, "eu-west-1": 0.088, "eu-central-1": 0.0952}
#: USD per hour for each public IPv4 address (every instance has one), all regions.
PUBLIC_IPV4_HOURLY = 0.005
ROOT_VOLUME_GB = 8
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Line:
    """`count` instances of one role and type, and what one of them costs per hour."""

    role: str
    count: int
    instance_type: str
    compute: float
    disk: float

    @property
    def hourly(self) -> float:
        return self.compute + PUBLIC_IPV4_HOURLY + self.disk


@dataclass(frozen=True)
class Estimate:
    region: str
    hours: float
    lines: tuple[Line, ...]

    @property
    def instances(self) -> int:
        return sum(line.count for line in self.lines)

    @property
    def hourly(self) -> float:
        return sum(line.count * line.hourly for line in self.lines)

    @property
    def total(self) -> float:
        return self.hourly * self.hours


def price(region: str, instance_type: str) -> float:
    """The hourly on-demand price, or CostGuardError: no instance starts without an estimate."""
    try:
        return HOURLY[region][instance_type]
    except KeyError:
        known = ", ".join(f"{r}: {' '.join(HOURLY[r])}" for r in HOURLY)
        raise CostGuardError(
            f"No price for {instance_type} in {region} in the table of {PRICES_AS_OF} (workshop/aws/cost.py), so no "
            f"cost estimate: choose a listed region and type ({known}), or add the published price to the table"
        ) from None


def estimate(region: str, roles: list[str], settings: Settings) -> Estimate:
    """Cost of one instance per entry of `roles` (a role repeats per instance) for settings.hours."""
    disk = ROOT_VOLUME_GB * GP3_GB_MONTH.get(region, max(GP3_GB_MONTH.values())) / HOURS_PER_MONTH
    lines = []
    for role, count in Counter(roles).items():
        instance_type = settings.instance_type(role)
        lines.append(Line(role, count, instance_type, price(region, instance_type), disk))
    return Estimate(region, settings.hours, tuple(lines))


def format_estimate(est: Estimate, stack_name: str) -> str:
    """The estimate as printed before `up` creates anything."""
    rows = [f"Cost estimate for stack {stack_name!r} in {est.region} (on-demand Linux prices of {PRICES_AS_OF}, "
            "workshop/aws/cost.py):"]
    for line in est.lines:
        rows.append(f"  {line.count:>2} x {line.role:<8} {line.instance_type:<10} ${line.compute:.4f}/h + public IPv4 "
                    f"${PUBLIC_IPV4_HOURLY:.4f}/h + {ROOT_VOLUME_GB} GB gp3 ${line.disk:.4f}/h "
                    f"= ${line.hourly:.4f}/h each")
    rows.append(f"  {est.instances} instances: ${est.hourly:.4f}/h, ${est.total:.2f} for {est.hours:g} h "
                f"(WORKSHOP_EC2_HOURS; the stack expires after them and `workshop reap` deletes it)")
    rows.append("  Not included: S3 requests and storage and data transfer (cents for a class). A stopped instance "
                "still pays for its disk; `workshop down` ends every charge.")
    return "\n".join(rows)
