"""Where media lives: SeaweedFS on media1 locally, the stack's S3 bucket on EC2.
The same reference deploys serve both; only the storage settings and nginx's
/media/ target differ."""

import json

from workshop.deploy import media, nginx
from workshop.lab import Lab
from workshop.stack import Stack


def a_lab(tmp_path, provider: str, network: dict) -> Lab:
    stack = Stack("s", provider, "root", str(tmp_path / "id"), {"subnet": "10.213.5.0/24", **network}, {})
    stack.folder.mkdir(parents=True, exist_ok=True)
    return Lab(stack, None, tmp_path)


def test_local_media_is_the_seaweedfs_bucket_on_media1(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    lab = a_lab(tmp_path, "local", {})
    assert media.storage_settings(lab)["AWS_S3_ENDPOINT_URL"] == "http://10.213.5.51:8333"
    assert "proxy_pass http://10.213.5.51:8333/newsroom-media/;" in nginx.reference_lb_config(lab)


def test_ec2_media_is_the_stacks_s3_bucket(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    lab = a_lab(tmp_path, "ec2", {"region": "eu-west-1", "bucket": "ws-alice-s-media"})
    from workshop.aws.media import CREDENTIALS_FILE
    (lab.stack.folder / CREDENTIALS_FILE).write_text(json.dumps({"AccessKeyId": "AK", "SecretAccessKey": "SK"}))
    settings = media.storage_settings(lab)
    assert settings["AWS_STORAGE_BUCKET_NAME"] == "ws-alice-s-media" and settings["AWS_ACCESS_KEY_ID"] == "AK"
    assert "proxy_pass https://s3.eu-west-1.amazonaws.com/ws-alice-s-media/;" in nginx.reference_lb_config(lab)
    assert media.deploy_media_server(lab) is None
