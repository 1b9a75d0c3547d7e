"""Local provider naming and addressing: derived, stable, unique per stack."""

from workshop.providers.local import container_name, mac_address, network_name
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
