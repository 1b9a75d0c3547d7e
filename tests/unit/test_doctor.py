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


def engine_at(version, program="/usr/bin/podman"):
    """A stand-in for find_engine: an engine at `version` that runs nothing."""
    class Engine:
        is_podman = program.endswith("podman")
        name = "podman" if is_podman else "docker"

        def run_flags(self):
            return ("--cgroupns=host",)

        def version(self):
            return version

    Engine.program = program
    return lambda: Engine()


@pytest.fixture
def engine_ok(monkeypatch):
    """A working engine without running one (`podman info` is not the subject of these tests)."""
    monkeypatch.setattr("workshop.engine.find_engine", engine_at("4.3.1"))


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


def test_local_mode_skips_aws_and_passes_when_all_is_there(engine_ok, monkeypatch):
    host = [doctor.Finding("memory", doctor.OK, "plenty")]
    monkeypatch.setattr(doctor, "check_local_host", lambda: host)
    findings = doctor.diagnose("local")
    assert by_topic(findings)["aws"].status == doctor.SKIP and by_topic(findings)["memory"] == host[0]
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
        findings = by_topic(doctor.diagnose("ec2"))  # no add_debian_images: no Debian image here
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


OS_RELEASE = 'PRETTY_NAME="{pretty}"\nNAME="x"\nID={id}\nVERSION_ID="{version}"\n'


@pytest.mark.parametrize("system, version, status", [
    ("debian", "12", doctor.OK), ("debian", "13", doctor.OK), ("ubuntu", "24.04", doctor.OK),
    ("ubuntu", "20.04", doctor.WARN), ("fedora", "41", doctor.WARN),
])
def test_the_system_is_named_and_an_unknown_one_is_shown_its_path(tmp_path, system, version, status):
    (tmp_path / "os-release").write_text(OS_RELEASE.format(pretty=f"{system} {version}", id=system, version=version))
    finding = doctor.check_system(tmp_path / "os-release")
    assert finding.status == status and finding.detail.startswith(f"{system} {version}, kernel ")
    if status == doctor.WARN:
        assert "podman >= 4" in finding.fix and "docs/pre-class.md" in finding.fix


def test_macos_or_windows_is_sent_to_the_vm_recipes(monkeypatch):
    monkeypatch.setattr(doctor.sys, "platform", "darwin")
    finding = doctor.check_system()
    assert finding.status == doctor.FAIL and "Lima" in finding.fix and "WSL2" in finding.fix
    assert [f.topic for f in doctor.check_local_host()] == ["system"]


MOUNTS = {
    "unified": "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n",
    "hybrid": "tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
              "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
    "legacy": "tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
}


@pytest.mark.parametrize("mode", MOUNTS)
def test_the_cgroup_mode_is_read_from_the_mounts(tmp_path, mode):
    (tmp_path / "mounts").write_text("proc /proc proc rw 0 0\n" + MOUNTS[mode])
    assert doctor.check_cgroups(tmp_path / "mounts").detail.startswith(
        {"unified": "cgroup v2", "hybrid": "cgroup v1 with a v2 tree", "legacy": "cgroup v1 (legacy)"}[mode])


@pytest.mark.parametrize("limit, status", [("48\n", doctor.FAIL), ("128\n", doctor.WARN), ("1024\n", doctor.OK)])
def test_the_inotify_limit_is_checked_against_a_full_stack(tmp_path, limit, status):
    (tmp_path / "limit").write_text(limit)
    finding = doctor.check_inotify(tmp_path / "limit")
    assert finding.status == status and "a full stack is 10" in finding.detail
    assert (finding.fix == doctor.INOTIFY_FIX) == (status != doctor.OK)
    assert "sysctl -w fs.inotify.max_user_instances=1024" in doctor.INOTIFY_FIX


@pytest.mark.parametrize("kib, status", [(1_000_000, doctor.WARN), (8_000_000, doctor.OK)])
def test_free_memory_is_compared_with_what_a_full_stack_needs(tmp_path, kib, status):
    (tmp_path / "meminfo").write_text(f"MemTotal: 9000000 kB\nMemFree: 10 kB\nMemAvailable: {kib} kB\n")
    finding = doctor.check_memory(tmp_path / "meminfo")
    assert finding.status == status and f"{kib // 1024} MiB available" in finding.detail


@pytest.mark.parametrize("program, version, status", [
    ("/usr/bin/podman", "4.3.1", doctor.OK), ("/usr/bin/podman", "3.4.4", doctor.FAIL),
    ("/usr/bin/docker", "20.10.24+dfsg1", doctor.OK), ("/usr/bin/docker", "19.03.13", doctor.FAIL),
])
def test_the_engine_is_named_with_its_version_and_an_old_one_fails(monkeypatch, program, version, status):
    monkeypatch.setattr("workshop.engine.find_engine", engine_at(version, program))
    finding = doctor.check_engine(needed=True)
    assert finding.status == status and finding.detail.startswith(f"{program.rsplit('/', 1)[1]} {version} ({program})")
    if program.endswith("docker") and status == doctor.OK:
        assert finding.detail.endswith("docker has no systemd mode, so machines run with --cgroupns=host")
