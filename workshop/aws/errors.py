"""What can go wrong on AWS, as errors that name the fix (all WorkshopErrors)."""

from ..errors import StackError, WorkshopError


class CloudError(WorkshopError):
    """AWS refused or could not do what the provider asked."""


class CredentialsError(CloudError):
    """No AWS credentials were found, or AWS rejected them."""


class RegionError(CloudError):
    """No region is set, the name is not a region, or it is not enabled for the account."""


class QuotaError(CloudError):
    """The account's EC2 quota (vCPUs, instances) does not leave room for the instance."""


class ImageNotFoundError(CloudError):
    """No official Debian 12 image was found in the region."""


class BootError(CloudError):
    """An instance did not finish booting and installing the workshop packages."""


class CostGuardError(StackError):
    """A cost limit (instances per stack or per class, a price we cannot estimate) refused the request."""
