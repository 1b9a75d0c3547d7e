"""Credentials and region, checked before anything is created.

boto3's standard chain finds the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID,
~/.aws, SSO, an instance role); this module only turns its failures into
errors that say what to do.

Example::

    cloud = connect("eu-west-1")
    cloud.account
    # -> '123456789012'
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from .errors import CloudError, CredentialsError, QuotaError, RegionError

#: Retries with backoff on throttling: a class of 30 calling at once is normal.
CLIENT_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=10, read_timeout=60)
CREDENTIALS_FIX = ("run `aws configure` (or `aws sso login`), or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY; docs/ec2.md lists the permissions needed")
QUOTA_CODES = {"VcpuLimitExceeded", "InstanceLimitExceeded", "VolumeLimitExceeded", "AddressLimitExceeded",
               "SecurityGroupLimitExceeded", "RulesPerSecurityGroupLimitExceeded", "SubnetLimitExceeded",
               "TooManyBuckets", "LimitExceeded"}


@dataclass
class Cloud:
    """One AWS account in one region, with its clients made once."""

    session: boto3.Session
    region: str
    account: str
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region, config=CLIENT_CONFIG)
        return self._clients[service]

    @property
    def ec2(self):
        return self.client("ec2")


def connect(region: str | None = None) -> Cloud:
    """A Cloud for `region` (else the profile's), once AWS has accepted the credentials and the region."""
    session = boto3.Session(region_name=region) if region else boto3.Session()
    region = session.region_name
    if not region:
        raise RegionError("No AWS region is set: set WORKSHOP_AWS_REGION (or AWS_DEFAULT_REGION), e.g. eu-west-1, "
                          "or `aws configure set region eu-west-1`")
    known = session.get_available_regions("ec2")
    if region not in known:
        raise RegionError(f"{region!r} is not an EC2 region; choose one of: {', '.join(known)}")
    if session.get_credentials() is None:
        raise CredentialsError(f"No AWS credentials found: {CREDENTIALS_FIX}")
    try:
        account = session.client("sts", region_name=region, config=CLIENT_CONFIG).get_caller_identity()["Account"]
    except NoCredentialsError as exc:
        raise CredentialsError(f"No AWS credentials found: {CREDENTIALS_FIX}") from exc
    except ClientError as exc:
        raise CredentialsError(
            f"AWS rejected the credentials ({_code(exc)}: {_message(exc)}): {CREDENTIALS_FIX}") from exc
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise CloudError(f"Cannot reach AWS in {region} ({exc}); check the network and the region") from exc
    cloud = Cloud(session, region, account)
    try:
        cloud.ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
    except ClientError as exc:
        if _code(exc) in ("OptInRequired", "AuthFailure", "UnrecognizedClientException"):
            raise RegionError(f"Region {region} is not enabled for account {account} ({_code(exc)}): enable it in "
                              "the AWS console (Account > AWS Regions) or choose another region") from exc
        raise translate(exc, f"use EC2 in {region}") from exc
    return cloud


def translate(exc: ClientError, doing: str) -> CloudError:
    """The WorkshopError for an AWS refusal while `doing` something, with its fix."""
    code, message = _code(exc), _message(exc)
    if code in QUOTA_CODES:
        return QuotaError(f"AWS quota reached while trying to {doing} ({code}: {message}). Request an increase "
                          "in the console (Service Quotas > Amazon EC2 > Running On-Demand Standard instances), "
                          "or remove other instances; `workshop doctor` shows the vCPU quota")
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure"):
        return CredentialsError(f"Your AWS identity may not {doing} ({code}: {message}); give it the permissions "
                                "listed in docs/ec2.md")
    if code in ("InsufficientInstanceCapacity", "Unsupported"):
        return CloudError(f"AWS has no capacity to {doing} here right now ({code}: {message}); try again in a few "
                          "minutes, or another instance type (WORKSHOP_EC2_TYPES) or region")
    return CloudError(f"AWS refused to {doing} ({code}: {message})")


@contextmanager
def aws(doing: str):
    """Turn an AWS refusal inside the block into a CloudError naming what was being done."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, doing) from exc
    except EndpointConnectionError as exc:
        raise CloudError(f"Cannot reach AWS to {doing} ({exc}); check the network") from exc


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "Unknown")


def _message(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", str(exc))
