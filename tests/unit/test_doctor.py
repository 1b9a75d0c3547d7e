"""`workshop doctor`: what it checks, the fix it prints, and its exit code (moto for AWS)."""

from __future__ import annotations

import importlib.metadata
import shutil

import pytest
from moto import mock_aws

from tests.unit.test_ec2_fixtures import add_debian_images, aws_env  # noqa: F401 (fixture)
from workshop import doctor
from workshop.aws import guard
from workshop.cli import main
from workshop.errors import EngineError


def by_topic(findings):
    return {finding.topic: finding for finding in findings}


@pytest.fixture
def engine_ok(monkeypatch):
    """A working engine without running one (`podman info` is not the subject of these tests)."""
    class Engine:
        program = "/usr/bin/podman"

        def run_flags(self):
            return ()

    monkeypatch.setattr("workshop.engine.find_engine", lambda: Engine())


def test_this_environment_has_the_right_python_and_every_pinned_package():
    assert doctor.check_python().status == doctor.OK
    packages = doctor.check_packages()
    assert packages.status == doctor.OK and "pinned packages at their versions" in packages.detail


def test_a_package_at_the_wrong_version_is_named_with_the_fix(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.1" if name == "boto3" else real(name))
    finding = doctor.check_packages()
    assert finding.status == doctor.FAIL and "boto3 0.1 (wants 1.44.5)" in finding.detail
    assert "make setup" in finding.fix


def test_a_missing_ssh_client_fails_with_the_package_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    finding = doctor.check_ssh()
    assert finding.status == doctor.FAIL and "openssh-client" in finding.fix


def test_no_container_engine_fails_local_mode_but_only_warns_in_ec2_mode(monkeypatch):
    def missing():
        raise EngineError("No container engine found (podman or docker is not on PATH). Install podman ...")

    monkeypatch.setattr("workshop.engine.find_engine", missing)
    assert doctor.check_engine(needed=True).status == doctor.FAIL
    warning = doctor.check_engine(needed=False)
    assert warning.status == doctor.WARN and "Install podman" in warning.fix


def test_local_mode_skips_aws_and_passes_when_all_is_there(engine_ok):
    findings = doctor.diagnose("local")
    assert by_topic(findings)["aws"].status == doctor.SKIP
    assert doctor.exit_code(findings) == 0 and "Ready for class." in doctor.report(findings, "local")


def test_ec2_mode_checks_account_cost_image_network_address_and_quota(aws_env, engine_ok):
    with mock_aws():
        add_debian_images()
        findings = by_topic(doctor.diagnose("ec2"))
    assert "account 123456789012 in us-east-1" in findings["aws"].detail
    assert findings["cost"].detail == "a full stack costs $1.63 for 8 h"
    assert findings["image"].detail == "debian-12-amd64-20250601-2140"
    assert findings["address"].detail.endswith("203.0.113.7/32")
    assert findings["quota"].status == doctor.WARN and "needs 20 vCPUs" in findings["quota"].detail
    assert doctor.exit_code(list(findings.values())) == 0


def test_a_quota_too_small_for_a_full_stack_fails_with_the_number_to_request(aws_env, engine_ok, monkeypatch):
    monkeypatch.setattr(guard, "vcpu_quota", lambda cloud: 16.0)
    with mock_aws():
        add_debian_images()
        findings = doctor.diagnose("ec2")
    quota = by_topic(findings)["quota"]
    assert quota.status == doctor.FAIL and "request at least 20" in quota.fix
    assert doctor.exit_code(findings) == 1


def test_ec2_mode_without_credentials_or_image_fails_and_says_what_to_do(aws_env, engine_ok, monkeypatch):
    with mock_aws():
        findings = by_topic(doctor.diagnose("ec2"))  # moto has no Debian image
        assert findings["image"].status == doctor.FAIL and "136693071363" in findings["image"].fix
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        findings = by_topic(doctor.diagnose("ec2"))
    assert findings["aws"].status == doctor.FAIL and "aws configure" in findings["aws"].fix
    assert "image" not in findings


def test_workshop_doctor_exits_non_zero_and_prints_the_fix(monkeypatch, capsys, engine_ok):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["doctor", "--provider", "local"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  ssh" in out and "fix: apt-get install -y openssh-client" in out and "1 problem(s) to fix" in out


def test_an_unknown_provider_setting_is_a_problem_with_the_choices(engine_ok, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_PROVIDER", "azure")
    assert main(["doctor"]) == 1
    assert "fix: set WORKSHOP_PROVIDER to one of: local, ec2" in capsys.readouterr().out
