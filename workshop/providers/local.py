"""Local provider: each instance is a systemd container on a private network per stack.

Like a cloud VM, an instance has a private address (pinned, used between
instances) and a public endpoint (ports published on 127.0.0.1, used by the
student, the grader and load tests). Everything it creates is labelled with
the stack's name, so teardown removes exactly that and nothing else.

Example::

    provider = LocalProvider()
    provider.states(stack)
    # -> {'web1': 'running'}
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import struct
from pathlib import Path

from tenacity import Retrying, retry_if_exception, stop_after_attempt

from .. import engine_output
from ..engine import Engine, find_engine
from ..errors import EngineError, StackError
from ..image import ensure_image
from ..progress import Progress
from ..stack import InstanceRecord, Stack
from ..topology import InstanceSpec
from ..waiting import wait_until
from .base import RUNNING, STOPPED, Provider

LABEL = "org.workshop.stack"
#: Stack networks are /24s inside this range, picked to avoid the engine's
#: other networks and every subnet the host already routes (the other
#: engine's networks: podman and docker do not see each other's).
SUBNET_POOL = ipaddress.ip_network("10.213.0.0/16")
BOOT_TIMEOUT = 90
#: What an engine says when a host port it was given is bound by then, and how often to pick again.
PORT_TAKEN = "address already in use"
PORT_ATTEMPTS = 3
#: What `systemctl is-system-running --wait` answers once boot is over, well or not.
SETTLED = ("running", "degraded", "maintenance", "stopping")


def container_name(stack: Stack, name: str) -> str:
    return f"ws-{stack.name}-{name}"


def network_name(stack: Stack) -> str:
    return f"ws-{stack.name}"


def routed_subnets(table: Path = Path("/proc/net/route")) -> list[ipaddress.IPv4Network]:
    """The IPv4 subnets the host has routes for, default route aside (hex, little-endian, in the table)."""
    if not table.exists():
        return []
    subnets = []
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        destination, mask = (socket.inet_ntoa(struct.pack("<L", int(field, 16))) for field in (fields[1], fields[7]))
        if mask != "0.0.0.0":
            subnets.append(ipaddress.ip_network(f"{destination}/{mask}", strict=False))
    return subnets


def mac_address(ip: str) -> str:
    """A MAC derived from the pinned IP: a restarted container keeps both, so
    neighbours' ARP caches stay right (a new MAC left web1 unreachable 6-26 s)."""
    return "02:42:" + ":".join(f"{int(octet):02x}" for octet in ip.split("."))


class LocalProvider(Provider):
    name = "local"
    ssh_user = "root"
    # Each instance is its own container: nothing shared but the network, made first.
    concurrent_creates = True

    def __init__(self, engine: Engine | None = None):
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = find_engine()
        return self._engine

    # -- shared resources -------------------------------------------------
    def prepare(self, stack: Stack, progress: Progress) -> None:
        stack.network["image"] = ensure_image(self.engine, progress)
        network = network_name(stack)
        if not self.engine.exists("network", network):
            subnet = self._free_subnet(stack)
            progress.say(network, f"creating the stack network {subnet}")
            self.engine.run("network", "create", "--subnet", str(subnet), "--label", f"{LABEL}={stack.name}", network)
        [info] = self.engine.inspect("network", network)
        stack.network.update(name=network, subnet=engine_output.subnets(info)[0])

    def _free_subnet(self, stack: Stack) -> ipaddress.IPv4Network:
        networks = [engine_output.name(record) for record in self.engine.listing("network")]
        used = [ipaddress.ip_network(cidr) for info in self.engine.inspect("network", *networks)
                for cidr in engine_output.subnets(info)] + routed_subnets()
        candidates = list(SUBNET_POOL.subnets(new_prefix=24))[1:-1]
        start = int(hashlib.sha256(stack.name.encode()).hexdigest(), 16) % len(candidates)
        for subnet in candidates[start:] + candidates[:start]:
            if not any(subnet.overlaps(other) for other in used):
                return subnet
        raise StackError(f"No free /24 left in {SUBNET_POOL} for a stack network (stack networks and the host's "
                         "routes use them all); remove old stacks (workshop down)")

    # -- instances --------------------------------------------------------
    def create_instance(self, stack: Stack, spec: InstanceSpec, public_key: str, progress: Progress) -> InstanceRecord:
        container = container_name(stack, spec.name)
        subnet = ipaddress.ip_network(stack.network["subnet"])
        ip = str(subnet.network_address + spec.host_number)
        state = self.states(stack).get(spec.name)
        if state == RUNNING:
            progress.say(spec.name, "already running")
        elif state == STOPPED:
            progress.say(spec.name, "starting it again")
            self.engine.run("start", container)
        else:
            progress.say(spec.name, f"creating {container} at {ip}")
            self._create_container(stack, spec, container, ip)
        self._wait_for_boot(container, spec.name, progress)
        self.engine.run("exec", "-i", container, "sh", "-c",
                        "install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys "
                        "&& chmod 600 /root/.ssh/authorized_keys", input=public_key + "\n")
        host_key = self.engine.run("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.strip()
        return InstanceRecord(
            name=spec.name, role=spec.role, private_ip=ip, public_host="127.0.0.1",
            ports=self._published_ports(container), provider_id=container, host_key=host_key,
        )

    def _create_container(self, stack: Stack, spec: InstanceSpec, container: str, ip: str) -> None:
        """`run` the container; when another process bound a picked host port first, the
        engine leaves a container that never started: remove it and try with new ports."""
        def create() -> None:
            try:
                self.engine.run(
                    "run", "--detach", *self.engine.run_flags(),
                    "--name", container, "--hostname", spec.name,
                    "--network", stack.network["name"], "--ip", ip, *self.engine.mac_address_flags(mac_address(ip)),
                    *self.engine.publish_flags(spec.ports),
                    "--label", f"{LABEL}={stack.name}", "--label", f"org.workshop.role={spec.role}",
                    "--label", f"org.workshop.instance={spec.name}",
                    stack.network["image"],
                )
            except EngineError as error:
                if PORT_TAKEN in str(error) and self.engine.exists("container", container):
                    self.engine.remove_container(container)
                raise

        Retrying(stop=stop_after_attempt(PORT_ATTEMPTS), reraise=True,
                 retry=retry_if_exception(lambda error: PORT_TAKEN in str(error)))(create)

    def _wait_for_boot(self, container: str, name: str, progress: Progress) -> None:
        # Right after `run`, systemd may not answer on its bus yet: poll until it
        # does, then let it wait for the end of boot itself.
        def system_state() -> str:
            return self.engine.run("exec", container, "systemctl", "is-system-running", "--wait",
                                   check=False, timeout=BOOT_TIMEOUT).stdout.strip()

        state = wait_until(system_state, BOOT_TIMEOUT, 0.3, done=lambda state: state in SETTLED)
        if state == "running":
            progress.say(name, "booted")
            return
        failed = self.engine.run("exec", container, "systemctl", "--failed", "--no-legend", "--plain",
                                 check=False).stdout.strip()
        if state == "degraded":
            progress.say(name, f"booted, degraded (failed units: {failed or 'none listed'})")
            return
        raise EngineError(
            f"{name} did not boot (systemd says {state or 'nothing'}; failed units: {failed or 'none'}). "
            f"See `{self.engine.program} logs {container}`, then `workshop down` and `workshop up`."
        )

    def _published_ports(self, container: str) -> dict[str, int]:
        return engine_output.published_ports(self.engine.run("port", container).stdout)

    def states(self, stack: Stack) -> dict[str, str]:
        states = {}
        for record in self.engine.listing("container", f"{LABEL}={stack.name}"):
            name = engine_output.labels(record).get("org.workshop.instance")
            if name:
                states[name] = RUNNING if engine_output.is_running(record) else STOPPED
        return states

    def start(self, stack: Stack, name: str, progress: Progress) -> None:
        self.engine.run("start", container_name(stack, name))
        self._wait_for_boot(container_name(stack, name), name, progress)

    def stop(self, stack: Stack, name: str) -> None:
        self.engine.run("stop", "-t", "10", container_name(stack, name))

    def kill(self, stack: Stack, name: str) -> None:
        self.engine.run("kill", container_name(stack, name))

    # -- teardown ---------------------------------------------------------
    def destroy(self, stack: Stack, progress: Progress) -> list[str]:
        removed = []
        for container in self.engine.names("container", f"{LABEL}={stack.name}"):
            progress.say(container, "removing")
            self.engine.remove_container(container)
            removed.append(f"container {container}")
        for network in self.engine.names("network", f"{LABEL}={stack.name}"):
            self.engine.run("network", "rm", network)
            removed.append(f"network {network}")
        return removed

    def leftovers(self, stack: Stack) -> list[str]:
        return [f"container {name}" for name in self.engine.names("container", f"{LABEL}={stack.name}")] + [
            f"network {name}" for name in self.engine.names("network", f"{LABEL}={stack.name}")
        ]
