"""Descriptors are validated on load: each rule refuses a forged descriptor with
"invalid descriptor: <reason>", and the descriptors the providers write still load."""

import json

import pytest

from tests.conftest import HOST_KEY
from workshop.errors import DescriptorError
from workshop.stack import InstanceRecord, Stack


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def honest(home, name="alice", provider="local", host="127.0.0.1") -> dict:
    record = InstanceRecord("web1", "web", "10.213.5.21", host, {"22": 40022, "80": 40080}, f"ws-{name}-web1",
                            HOST_KEY)
    return Stack(name, provider, "root", str(home / "stacks" / name / "id_ed25519"),
                 {"subnet": "10.213.5.0/24", "name": f"ws-{name}"}, {"web1": record}).to_dict()


def load(data: dict, tmp_path) -> Stack:
    path = tmp_path / "workshop-stack.json"
    path.write_text(json.dumps(data))
    return Stack.load(path)


def web1(**fields):
    return lambda data: data["instances"]["web1"].update(fields)


FORGERIES = {
    "ports as a list": (web1(ports=[22, 80]), "web1's ports are not a mapping of port numbers"),
    "a port that is not a number": (web1(ports={"22": "22; id"}), "web1's ports are not a mapping"),
    "a local stack on 10.0.0.5": (web1(public_host="10.0.0.5"), "web1's public host '10.0.0.5' is not this machine"),
    "a local stack on a host name": (web1(public_host="evil.example"), "is not this machine"),
    "an empty host key": (web1(host_key=""), "web1 has no host key"),
    "a host key that is not a key": (web1(host_key="ssh-ed25519 AAAA"), "web1's host key is not an OpenSSH"),
    "a host key with a second line": (web1(host_key=HOST_KEY + "\n* ssh-rsa AAAA"), "web1's host key is not"),
    "shell metacharacters in the name": (lambda d: d.update(name="alice$(id)"), "the stack name 'alice$(id)' is not"),
    "shell metacharacters in a machine": (lambda d: d["instances"].update({"w;id": d["instances"].pop("web1")}),
                                          "the machine name 'w;id' is not"),
    "a private address that is not one": (web1(private_ip="10.0.0.1 -oProxyCommand=id"), "private address"),
    "an unknown field": (lambda d: d.update(run="rm -rf /"), "unknown field(s) run"),
    "an unknown provider": (lambda d: d.update(provider="../../x"), "the provider '../../x' is not one of"),
    "an SSH user with options": (lambda d: d.update(ssh_user="-oProxyCommand=id"), "the SSH user"),
    "instances as a list": (lambda d: d.update(instances=[]), "instances is not a mapping"),
    "an empty object": (lambda d: d.clear(), "the stack name None"),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_descriptor_is_refused_with_the_reason(home, tmp_path, forge):
    change, reason = forge
    data = honest(home)
    change(data)
    with pytest.raises(DescriptorError, match=r"^invalid descriptor: ") as refused:
        load(data, tmp_path)
    assert reason in str(refused.value)


def test_a_descriptor_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / "workshop-stack.json").write_text("[]")
    with pytest.raises(DescriptorError, match="invalid descriptor: it is not a JSON object"):
        Stack.load(tmp_path / "workshop-stack.json")


def test_a_key_in_another_students_folder_is_refused(home, tmp_path):
    data = honest(home)
    data["ssh_key"] = str(home / "stacks" / "bob" / "id_ed25519")
    with pytest.raises(DescriptorError, match="the SSH key .*/stacks/bob/id_ed25519 is not in the stack's own "
                                              "folder .*/stacks/alice"):
        load(data, tmp_path)
    data["ssh_key"] = str(home / "stacks" / "alice" / ".." / "bob" / "id_ed25519")
    with pytest.raises(DescriptorError, match="is not in the stack's own folder"):
        load(data, tmp_path)


def test_a_key_reached_through_a_symlink_out_of_the_folder_is_refused(home, tmp_path):
    folder = home / "stacks" / "alice"
    folder.mkdir(parents=True)
    (folder / "id_ed25519").symlink_to(tmp_path / "bobs_key")
    with pytest.raises(DescriptorError, match="is not in the stack's own folder"):
        load(honest(home), tmp_path)


def test_a_key_is_looked_for_in_the_home_given(home, tmp_path):
    data = honest(home)
    other = tmp_path / "class" / "students" / "alice"
    with pytest.raises(DescriptorError, match="is not in the stack's own folder"):
        Stack.from_dict(data, home=other)
    data["ssh_key"] = str(other / "stacks" / "alice" / "id_ed25519")
    assert Stack.from_dict(data, home=other).ssh_key == data["ssh_key"]


@pytest.mark.parametrize("provider, host", [("local", "127.0.0.1"), ("local", "localhost"), ("local", "::1"),
                                            ("ec2", "203.0.113.7"), ("ec2", "")])
def test_honest_descriptors_load(home, tmp_path, provider, host):
    stack = load(honest(home, provider=provider, host=host), tmp_path)
    assert stack.instances["web1"].public_host == host and stack.instances["web1"].host_key == HOST_KEY


def test_an_ec2_public_address_must_be_an_address(home, tmp_path):
    with pytest.raises(DescriptorError, match="web1's public host 'evil.example' is not an IP address"):
        load(honest(home, provider="ec2", host="evil.example"), tmp_path)


def test_a_stack_whose_key_is_not_made_yet_loads(home, tmp_path):
    data = honest(home)
    data.update(ssh_key="", instances={})
    assert load(data, tmp_path).ssh_key == ""
