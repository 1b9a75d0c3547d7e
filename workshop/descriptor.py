"""The rules a stack descriptor must meet before anything acts on it.

A descriptor travels with a student's notebooks and comes back in their
submission, so it is student-writable text: whatever reads it (the grader,
class tooling running as the instructor, the live page) must not follow a
key path into another stack's folder, connect to a host the stack does not
own, skip the pinned host key, or put a name with shell characters on a
command line. Each rule refuses with "invalid descriptor: <reason>".

>>> check_descriptor({"name": "lab;id", "provider": "local", "ssh_user": "root"}, Path("/home/me/.workshop"))
Traceback (most recent call last):
  ...
workshop.errors.DescriptorError: invalid descriptor: the stack name 'lab;id' is not 1-31 lowercase letters, digits and '-' starting with a letter
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path

import paramiko

from .errors import DescriptorError

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
INSTANCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
SSH_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PROVIDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PROVIDERS = ("local", "ec2")
STACK_FIELDS = {"name", "provider", "ssh_user", "ssh_key", "network", "instances", "created_at", "copies"}
RECORD_FIELDS = {"name", "role", "private_ip", "public_host", "ports", "provider_id", "host_key"}
LOCAL_HOSTNAMES = ("localhost",)


def host_key_entry(host_key: str) -> paramiko.PKey:
    """A paramiko key from an OpenSSH public key line ('ssh-ed25519 AAAA...')."""
    kind, data = host_key.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


def invalid(reason: str) -> DescriptorError:
    return DescriptorError(f"invalid descriptor: {reason}")


def check_descriptor(data: object, home: Path) -> None:
    """Raise DescriptorError("invalid descriptor: ...") unless `data` is a well-formed descriptor whose
    key lives in `home`/stacks/NAME/ and whose machines are the ones its provider can own."""
    if not isinstance(data, Mapping):
        raise invalid("it is not a JSON object")
    _known_fields(data, STACK_FIELDS, "the descriptor")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid(f"the stack name {name!r} is not 1-31 lowercase letters, digits and '-' starting with a letter")
    if data.get("provider") not in PROVIDERS:
        raise invalid(f"the provider {data.get('provider')!r} is not one of {', '.join(PROVIDERS)}")
    if not isinstance(data.get("ssh_user"), str) or not SSH_USER.match(data["ssh_user"]):
        raise invalid(f"the SSH user {data.get('ssh_user')!r} is not a Unix user name")
    _check_key_path(data.get("ssh_key", ""), Path(home) / "stacks" / name)
    _check_network(data.get("network", {}))
    if not isinstance(data.get("created_at", 0), (int, float)):
        raise invalid("created_at is not a number")
    copies = data.get("copies", [])
    if not isinstance(copies, list) or not all(isinstance(c, str) and c.endswith("/workshop-stack.json")
                                               for c in copies):
        raise invalid("copies is not a list of paths to workshop-stack.json files")
    instances = data.get("instances", {})
    if not isinstance(instances, Mapping):
        raise invalid("instances is not a mapping of machine names to machines")
    for key, record in instances.items():
        _check_record(key, record, data["provider"])


def _known_fields(data: Mapping, allowed: set[str], what: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise invalid(f"{what} has unknown field(s) {', '.join(unknown)}")


def _check_key_path(key: object, folder: Path) -> None:
    if key == "":
        return  # a stack being created, before its key is made
    if not isinstance(key, str) or "\n" in key:
        raise invalid("ssh_key is not a path")
    if not Path(key).is_absolute() or not Path(key).resolve().is_relative_to(folder.resolve()):
        raise invalid(f"the SSH key {key} is not in the stack's own folder {folder} (use the stack from the "
                      "WORKSHOP_HOME that made it)")


def _check_network(network: object) -> None:
    if not isinstance(network, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, (str, int, float)) and "\n" not in str(v))
            for k, v in network.items()):
        raise invalid("network is not a mapping of names to single-line values")
    if "subnet" in network:
        try:
            ipaddress.ip_network(network["subnet"])
        except (TypeError, ValueError):
            raise invalid(f"the subnet {network['subnet']!r} is not a network address") from None


def _check_record(key: object, record: object, provider: str) -> None:
    if not isinstance(key, str) or not INSTANCE_NAME.match(key):
        raise invalid(f"the machine name {key!r} is not lowercase letters, digits and '-'")
    if not isinstance(record, Mapping):
        raise invalid(f"{key} is not a JSON object")
    _known_fields(record, RECORD_FIELDS, key)
    if record.get("name") != key:
        raise invalid(f"{key} is recorded under the name {record.get('name')!r}")
    if not isinstance(record.get("role"), str) or not INSTANCE_NAME.match(record["role"]):
        raise invalid(f"{key}'s role {record.get('role')!r} is not lowercase letters, digits and '-'")
    if not isinstance(record.get("provider_id"), str) or not PROVIDER_ID.match(record["provider_id"]):
        raise invalid(f"{key}'s provider id {record.get('provider_id')!r} is not letters, digits, '.', '_' or '-'")
    _check_address(key, "private address", record.get("private_ip"))
    _check_public_host(key, record.get("public_host"), provider)
    _check_ports(key, record.get("ports"))
    _check_host_key(key, record.get("host_key"))


def _address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except (TypeError, ValueError):
        return None


def _check_address(key: str, what: str, value: object) -> None:
    if _address(value) is None:
        raise invalid(f"{key}'s {what} {value!r} is not an IP address")


def _check_public_host(key: str, host: object, provider: str) -> None:
    if provider == "local":
        address = _address(host)
        if host not in LOCAL_HOSTNAMES and (address is None or not address.is_loopback):
            raise invalid(f"{key}'s public host {host!r} is not this machine: a local stack publishes on loopback")
    elif host != "":  # an EC2 machine has no public address while it is stopped
        _check_address(key, "public host", host)


def _check_ports(key: str, ports: object) -> None:
    def port(value: object) -> bool:
        number = int(value) if isinstance(value, str) and value.isdigit() else value
        return isinstance(number, int) and not isinstance(number, bool) and 0 < number < 65536

    if not isinstance(ports, Mapping) or not all(isinstance(k, str) and port(k) and port(v) for k, v in ports.items()):
        raise invalid(f"{key}'s ports are not a mapping of port numbers to port numbers")


def _check_host_key(key: str, host_key: object) -> None:
    if not host_key:
        raise invalid(f"{key} has no host key: without it its identity cannot be checked")
    try:
        if not isinstance(host_key, str) or not host_key.isprintable():
            raise ValueError("not one line of text")
        host_key_entry(host_key)
    except Exception:  # paramiko raises several kinds for a malformed key
        raise invalid(f"{key}'s host key is not an OpenSSH public key line ('ssh-ed25519 AAAA...')") from None
