"""Local provider naming and addressing: derived, stable, unique per stack."""

from workshop.errors import EngineError
from workshop.providers.local import (
    PORT_TAKEN, SUBNET_POOL, LocalProvider, container_name, mac_address, network_name, routed_subnets,
)
from workshop.stack import Stack
from workshop.topology import PLAN, spec

import pytest


def test_names_carry_the_stack_so_stacks_never_collide():
    stack = Stack("alice", "local", "root", "")
    assert container_name(stack, "web1") == "ws-alice-web1"
    assert network_name(stack) == "ws-alice"


def test_the_mac_is_derived_from_the_pinned_ip_so_a_restart_keeps_both():
    assert mac_address("10.213.7.21") == "02:42:0a:d5:07:15"


def test_every_planned_instance_has_its_own_address_slot_and_ssh():
    numbers = [s.host_number for s in PLAN.values()]
    assert len(set(numbers)) == len(numbers)
    assert all(22 in s.ports for s in PLAN.values())


def test_an_unknown_instance_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="web1"):
        spec("webserver")


ROUTE_TABLE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
cni-podman0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
cni-podman3\t0007D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_the_host_s_routes_are_read_without_the_default_route(tmp_path):
    (tmp_path / "route").write_text(ROUTE_TABLE)
    assert [str(net) for net in routed_subnets(tmp_path / "route")] == ["10.88.0.0/16", "10.213.7.0/24", "172.17.0.0/16"]
    assert routed_subnets(tmp_path / "missing") == []


class NetworksEngine:
    """An engine whose only network is `taken` (a docker-style inspection)."""

    def __init__(self, taken):
        self.taken = taken

    def listing(self, kind, label=None):
        return [{"Name": "ws-other"}]

    def inspect(self, kind, *names):
        return [{"Name": "ws-other", "IPAM": {"Config": [{"Subnet": self.taken}]}}]


def test_a_new_stack_network_avoids_the_engine_s_networks_and_the_other_engine_s_routes(monkeypatch):
    stack = Stack("alice", "local", "root", "")
    first = LocalProvider(NetworksEngine("192.168.0.0/24"))._free_subnet(stack)
    monkeypatch.setattr("workshop.providers.local.routed_subnets", lambda: [first])
    second = LocalProvider(NetworksEngine("192.168.0.0/24"))._free_subnet(stack)
    third = LocalProvider(NetworksEngine(str(second)))._free_subnet(stack)
    assert len({first, second, third}) == 3 and all(net.subnet_of(SUBNET_POOL) for net in (first, second, third))


class PortRaceEngine:
    """An engine whose first `run` loses a host port to another process, leaving a created container."""

    def __init__(self):
        self.calls = []

    def run(self, *args, **kwargs):
        self.calls.append(args[0])
        if self.calls.count("run") == 1:
            raise EngineError(f"`podman run ...` failed (exit 126):\nError: cannot listen on the TCP port: "
                              f"listen tcp4 127.0.0.1:34149: bind: {PORT_TAKEN}")

    def run_flags(self):
        return ()

    def mac_address_flags(self, mac):
        return ()

    def publish_flags(self, ports):
        return ()

    def exists(self, kind, name):
        return True

    def remove_container(self, name):
        self.calls.append("rm")


def test_a_host_port_taken_between_pick_and_bind_removes_the_dead_container_and_tries_new_ports():
    stack = Stack("alice", "local", "root", "", network={"name": "ws-alice", "image": "img"})
    engine = PortRaceEngine()
    LocalProvider(engine)._create_container(stack, spec("web1"), "ws-alice-web1", "10.213.7.21")
    assert engine.calls == ["run", "rm", "run"]
