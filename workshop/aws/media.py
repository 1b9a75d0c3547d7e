"""The stack's media bucket on S3, and credentials that can use that bucket and nothing else.

The scoped credentials belong to an IAM user made for the stack (path
/workshop/), whose only permission is an inline policy on its bucket. An
instance role would avoid a stored key, but creating roles needs
iam:PassRole, which students' and class accounts rarely grant; a user with
one inline policy needs only what the teardown also deletes. The key is kept
beside the stack's SSH key (mode 600), never in the descriptor that travels
with submissions.

Example::

    app_environment(lab, storage=storage_settings(lab.stack))
"""

from __future__ import annotations

import hashlib
import json
import os

from botocore.exceptions import ClientError

from ..progress import Progress
from ..stack import Stack
from .session import Cloud, aws
from .tags import REGION, tag_list

IAM_PATH = "/workshop/"
CREDENTIALS_FILE = "aws-media-credentials.json"


def bucket_name(stack_id: str, account: str, region: str) -> str:
    """Bucket names are global: the account and region make the stack's name unique (<= 63 characters)."""
    return f"{stack_id}-{hashlib.sha256(f'{account}/{region}'.encode()).hexdigest()[:10]}"


def user_name(stack_id: str) -> str:
    return f"{stack_id}-media"


def bucket_policy(bucket: str) -> dict:
    """Media is public (article images, plain URLs as the app makes them): anyone may read, only the app writes."""
    return {"Version": "2012-10-17", "Statement": [{"Sid": "PublicMedia", "Effect": "Allow", "Principal": "*",
                                                    "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}


def user_policy(bucket: str) -> dict:
    """What the app's key may do: list, read, write and delete in its own bucket only."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
    ]}


def create_bucket(cloud: Cloud, name: str, tags: dict, progress: Progress) -> None:
    s3 = cloud.client("s3")
    with aws(f"create the media bucket {name}"):
        location = {} if cloud.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": cloud.region}}
        s3.create_bucket(Bucket=name, **location)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
    try:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(bucket_policy(name)))
    except ClientError as exc:
        progress.say("media", f"bucket {name} stays private ({exc.response['Error']['Code']}: the account blocks "
                              "public buckets); uploads work, plain media URLs answer 403")


def create_user(cloud: Cloud, name: str, bucket: str, tags: dict) -> dict:
    """The IAM user for the app, its inline policy and an access key; returns the key."""
    iam = cloud.client("iam")
    with aws(f"create the IAM user {name} for the media bucket"):
        iam.create_user(UserName=name, Path=IAM_PATH, Tags=tag_list({**tags, REGION: cloud.region}))
        iam.put_user_policy(UserName=name, PolicyName="media-bucket", PolicyDocument=json.dumps(user_policy(bucket)))
        key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def save_credentials(stack: Stack, key: dict) -> None:
    stack.folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(stack.folder / CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(key, handle)


def storage_settings(stack: Stack) -> dict[str, str]:
    """The app's settings for media in the stack's bucket: the keys of workshop.deploy.media.storage_settings."""
    key = json.loads((stack.folder / CREDENTIALS_FILE).read_text())
    region = stack.network["region"]
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": stack.network["bucket"],
        "AWS_S3_ENDPOINT_URL": f"https://s3.{region}.amazonaws.com",
        "AWS_S3_REGION_NAME": region,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def delete_bucket(s3, name: str) -> bool:
    """Empty (every version) and delete the bucket; False when it did not exist."""
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=name)
        for page in pages:
            doomed = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                      for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return False
        raise
    return True


def delete_user(iam, name: str) -> bool:
    """Delete the user's keys, inline policies and the user; False when it did not exist."""
    try:
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy)
        iam.delete_user(UserName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise
    return True
