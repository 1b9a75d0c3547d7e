"""The official Debian 12 image, found by lookup in the region (ids differ per region and release).

Example::

    find_debian_image(cloud.ec2)["ImageId"]
    # -> 'ami-0123456789abcdef0'
"""

from __future__ import annotations

from .errors import ImageNotFoundError
from .session import aws

#: The Debian cloud team's AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image).
DEBIAN_OWNER = "136693071363"
DEBIAN_NAME = "debian-12-amd64-*"


def find_debian_image(ec2) -> dict:
    """The newest available Debian 12 amd64 image published by Debian, or ImageNotFoundError."""
    with aws("look up the Debian 12 image"):
        images = ec2.describe_images(Owners=[DEBIAN_OWNER], Filters=[
            {"Name": "name", "Values": [DEBIAN_NAME]},
            {"Name": "architecture", "Values": ["x86_64"]},
            {"Name": "state", "Values": ["available"]},
        ])["Images"]
    if not images:
        region = ec2.meta.region_name
        raise ImageNotFoundError(
            f"No Debian 12 image ({DEBIAN_NAME} from owner {DEBIAN_OWNER}) is available in {region}. Check with "
            f"`aws ec2 describe-images --region {region} --owners {DEBIAN_OWNER} --filters Name=name,Values="
            f"{DEBIAN_NAME}`, or choose a region that has it (WORKSHOP_AWS_REGION)"
        )
    return max(images, key=lambda image: image.get("CreationDate", ""))
