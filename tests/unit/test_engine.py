"""A missing or broken container engine gives a message that says what to do."""

import os
import socket

import pytest

from workshop import engine
from workshop.engine import Engine, find_engine, free_ports
from workshop.errors import EngineError


def fake_program(folder, name, script):
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return path


def test_no_engine_on_path_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("WORKSHOP_ENGINE", raising=False)
    with pytest.raises(EngineError, match="podman or docker is not on PATH.*make setup"):
        find_engine()


def test_an_engine_whose_info_fails_shows_its_error_and_the_fix(tmp_path, monkeypatch):
    fake_program(tmp_path, "podman", 'echo "cannot connect to the podman socket" >&2; exit 125')
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("WORKSHOP_ENGINE", raising=False)
    with pytest.raises(EngineError, match="(?s)installed but does not work.*cannot connect to the podman socket"):
        find_engine()


def test_workshop_engine_picks_the_engine(tmp_path, monkeypatch):
    fake_program(tmp_path, "docker", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_ENGINE", "docker")
    engine = find_engine()
    assert os.path.basename(engine.program) == "docker" and not engine.is_podman
    assert "--cgroupns=host" in engine.run_flags() and "container=docker" in engine.run_flags()


def test_podman_runs_systemd_containers_with_runc_and_explicit_ulimits(tmp_path, monkeypatch):
    fake_program(tmp_path, "runc", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path))
    flags = Engine("podman").run_flags()
    assert ("--runtime", "runc") == flags[:2] and "--systemd=always" in flags and "nofile=4096:4096" in flags


def test_podman_without_runc_says_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="apt-get install -y runc"):
        Engine("podman").run_flags()


def test_a_failing_engine_command_raises_with_its_stderr(tmp_path):
    engine = Engine(str(fake_program(tmp_path, "podman", 'echo "no such network" >&2; exit 1')))
    with pytest.raises(EngineError, match="no such network"):
        engine.run("network", "inspect", "x")


@pytest.mark.parametrize("program, api, flags", [
    ("podman", "", ("--mac-address", "02:42:0a:d5:07:15")),
    ("docker", "1.41", ()),
    ("docker", "1.47", ("--mac-address", "02:42:0a:d5:07:15")),
])
def test_the_mac_is_pinned_unless_an_old_docker_daemon_derives_it_itself(tmp_path, program, api, flags):
    engine = Engine(str(fake_program(tmp_path, program, f"echo {api}")))
    assert engine.mac_address_flags("02:42:0a:d5:07:15") == flags


def test_inspect_leaves_out_what_vanished_and_keeps_what_the_engine_printed(tmp_path):
    script = """echo '[{"Name": "ws-a"}]'; echo 'Error response from daemon: network ws-gone not found' >&2; exit 1"""
    engine = Engine(str(fake_program(tmp_path, "docker", script)))
    assert engine.inspect("network", "ws-a", "ws-gone") == [{"Name": "ws-a"}]


@pytest.mark.parametrize("program", ["podman", "docker"])
def test_both_engines_are_given_host_ports_below_the_ephemeral_range_so_no_client_socket_takes_one(program):
    flags = Engine(program).publish_flags((22, 80))
    assert flags[::2] == ["--publish", "--publish"]
    assert [flag.rsplit(":", 1)[1] for flag in flags[1::2]] == ["22", "80"]
    host_ports = [int(flag.split(":")[1]) for flag in flags[1::2]]
    assert all(engine.PUBLISH_PORT_FLOOR <= port < engine.ephemeral_port_floor() for port in host_ports)
    assert len(set(free_ports(50))) == 50


def test_a_port_something_is_bound_to_is_never_picked_and_too_few_free_ports_say_what_to_do(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        monkeypatch.setattr(engine, "PUBLISH_PORT_FLOOR", port)
        monkeypatch.setattr(engine, "ephemeral_port_floor", lambda: port + 2)
        assert free_ports(1) == [port + 1]
        with pytest.raises(EngineError, match="fewer than 2 free TCP ports.*workshop down"):
            free_ports(2)
