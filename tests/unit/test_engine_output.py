"""One reader for podman's and docker's output, fed what each CLI really printed (tests/unit/engine_samples)."""

from pathlib import Path

import pytest

from workshop import engine_output
from workshop.errors import EngineError

SAMPLES = Path(__file__).parent / "engine_samples"
ENGINES = ["podman-4.3", "docker-20.10", "docker-28.2"]


def sample(engine, command):
    [path] = SAMPLES.glob(f"{engine}-{command}.json*")
    return path.read_text()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_container_listing_gives_its_name_labels_and_state(engine):
    [running] = engine_output.records(sample(engine, "ps"))
    [stopped] = engine_output.records(sample(engine, "ps-stopped"))
    assert engine_output.name(running) == "ws-sample-web1"
    ours = {"org.workshop.instance": "web1", "org.workshop.role": "web", "org.workshop.stack": "sample"}
    assert engine_output.labels(running).items() >= ours.items()
    assert engine_output.is_running(running) and not engine_output.is_running(stopped)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_network_listing_gives_names_and_an_inspection_gives_subnets(engine):
    names = [engine_output.name(record) for record in engine_output.records(sample(engine, "network-ls"))]
    assert "ws-sample" in names
    inspected = {engine_output.name(info): info for info in engine_output.records(sample(engine, "network-inspect"))}
    assert engine_output.subnets(inspected["ws-sample"]) == ["10.213.250.0/24"]
    assert engine_output.labels(inspected["ws-sample"]) == {"org.workshop.stack": "sample"}


@pytest.mark.parametrize("engine", ENGINES)
def test_published_ports_map_each_machine_port_to_its_host_port(engine):
    ports = engine_output.published_ports((SAMPLES / f"{engine}-port.txt").read_text())
    assert set(ports) == {"22", "80"} and all(port > 1024 for port in ports.values())


def test_an_inspected_container_gives_its_name_without_docker_s_slash_and_its_state():
    record = {"Name": "/ws-a-web1", "State": {"Status": "exited", "Running": False},
              "Config": {"Labels": {"org.workshop.instance": "web1"}}}
    assert engine_output.name(record) == "ws-a-web1" and not engine_output.is_running(record)
    assert engine_output.labels(record) == {"org.workshop.instance": "web1"}


def test_nothing_listed_is_no_records_and_docker_20_s_literal_json_is_an_error_that_shows_it():
    assert engine_output.records("") == [] and engine_output.records("[]") == []
    with pytest.raises(EngineError, match="not JSON.*'json\\\\njson'"):
        engine_output.records("json\njson\n")
