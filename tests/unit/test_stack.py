"""The stack descriptor: saved, copied beside notebooks, loaded back identically."""

import json

import pytest

from tests.conftest import HOST_KEY

from workshop.errors import StackError
from workshop.stack import (DESCRIPTOR_NAME, InstanceRecord, Stack, check_name, find_descriptor, load_named,
                            workshop_home)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def a_stack() -> Stack:
    """A stack as `workshop up` saves it in the WORKSHOP_HOME of the `home` fixture."""
    record = InstanceRecord("web1", "web", "10.213.5.21", "127.0.0.1", {"22": 40022, "80": 40080}, "ws-s-web1",
                            HOST_KEY)
    return Stack("s", "local", "root", str(workshop_home() / "stacks/s/id_ed25519"), {"subnet": "10.213.5.0/24"},
                 {"web1": record})


def test_a_saved_stack_loads_back_equal(home):
    stack = a_stack()
    stack.save()
    assert load_named("s") == stack
    assert stack.path == home / "stacks" / "s" / "stack.json"


def test_saving_also_writes_the_copy_beside_each_notebook(home, tmp_path):
    stack = a_stack()
    notebook_folder = tmp_path / "exercise"
    notebook_folder.mkdir()
    stack.add_copy(notebook_folder)
    stack.add_copy(notebook_folder)
    stack.save()
    assert len(stack.copies) == 1
    assert Stack.load(find_descriptor(notebook_folder)) == stack


def test_a_folder_without_a_descriptor_has_none(tmp_path):
    assert find_descriptor(tmp_path) is None


def test_a_never_created_stack_is_none(home):
    assert load_named("nothing") is None


def test_a_damaged_descriptor_says_how_to_recover(tmp_path):
    (tmp_path / DESCRIPTOR_NAME).write_text("{not json")
    with pytest.raises(StackError, match="workshop down"):
        Stack.load(tmp_path / DESCRIPTOR_NAME)


def test_records_give_public_urls_and_refuse_unpublished_ports():
    record = a_stack().instances["web1"]
    assert record.url("/health/") == "http://127.0.0.1:40080/health/"
    with pytest.raises(StackError, match="does not publish port 5432"):
        record.public_port(5432)


@pytest.mark.parametrize("name", ["Lab", "1lab", "lab_1", "x" * 40, ""])
def test_unusable_stack_names_are_refused_with_the_rule(name):
    with pytest.raises(StackError, match="lowercase letters"):
        check_name(name)


def test_the_descriptor_is_plain_json_a_human_can_read(home):
    a_stack().save()
    data = json.loads((home / "stacks" / "s" / "stack.json").read_text())
    assert data["instances"]["web1"]["private_ip"] == "10.213.5.21"
