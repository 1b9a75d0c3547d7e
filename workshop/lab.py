"""The lab: a student's stack as notebooks use it.

Example::

    lab = open_lab()
    web1 = lab.up("web1")
    web1.run("uname -n", readonly=True).stdout
    # -> 'web1\\n'
    lab.down()

While nbgrader grades a notebook, `open_lab` reads the descriptor that
travelled with the submission and every helper that would create, change
or destroy something does nothing and says so.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import shutil
import threading
import uuid
from pathlib import Path

from . import grading, topology
from .concurrency import on_each
from .errors import RemoteError, StackError
from .keys import generate_key_pair, public_key_line
from .progress import Progress
from .providers import MISSING, RUNNING, Provider, get_provider, provider_name
from .remote import CommandResult, Remote
from .stack import Stack, check_name, default_stack_name, find_descriptor, load_named
from .waiting import no_error, wait_until

SSH_READY_TIMEOUT = 30


class Instance:
    """One machine of the stack, as a notebook cell uses it."""

    def __init__(self, lab: "Lab", name: str):
        self.lab = lab
        self.name = name

    @property
    def record(self):
        return self.lab.stack.instances[self.name]

    @property
    def role(self) -> str:
        return self.record.role

    @property
    def private_ip(self) -> str:
        return self.record.private_ip

    def url(self, path: str = "/", port: int = 80) -> str:
        """The public URL of `path` on this instance (what a browser would open)."""
        return self.record.url(path, port)

    @property
    def remote(self) -> Remote:
        return self.lab.remote(self.name)

    def run(self, command: str, *, readonly: bool = False, check: bool = True, timeout: float = 120,
            stdin: str | None = None) -> CommandResult:
        """Run a shell command over SSH, `stdin` as its input (the place for secrets and
        SQL). Pass readonly=True for commands that change nothing: only those run while
        nbgrader grades the notebook."""
        if grading.active() and not readonly:
            grading.skip(f"{self.name}: {command}")
            return CommandResult(command, skipped=True)
        return self.remote.run(command, timeout=timeout, check=check, stdin=stdin)

    def put_text(self, path: str, text: str, mode: str = "644", owner: str = "root:root") -> None:
        """Write `text` to the file `path` on the instance (atomically, with mode and owner)."""
        self.put_bytes(path, text.encode(), mode, owner)

    def update_text(self, path: str, text: str, mode: str = "644", owner: str = "root:root") -> bool:
        """Write `text` to `path` unless the file already holds exactly that; True when it
        was written (so a service reloads only when its file changed)."""
        if grading.active():
            grading.skip(f"{self.name}: write {path}")
            return False
        digest = hashlib.sha256(text.encode()).hexdigest()
        held = self.run(f"sha256sum < {path} 2>/dev/null", readonly=True, check=False).stdout.split()
        if held[:1] == [digest]:
            return False
        self.put_text(path, text, mode, owner)
        return True

    def put_bytes(self, path: str, data: bytes, mode: str = "644", owner: str = "root:root") -> None:
        if grading.active():
            grading.skip(f"{self.name}: write {path}")
            return
        staging = f"/tmp/.workshop-upload-{uuid.uuid4().hex}"
        self.remote.put(io.BytesIO(data), staging)
        self.remote.run(f"install -D -m {mode} -o {owner.split(':')[0]} -g {owner.split(':')[1]} {staging} {path} "
                        f"&& rm -f {staging}", check=True)

    def __repr__(self) -> str:
        return f"<Instance {self.name} ({self.role}) private {self.private_ip}>"


class Lab:
    """A stack plus the provider that hosts it."""

    def __init__(self, stack: Stack | None, provider: Provider | None, folder: Path):
        self.stack = stack
        self._provider = provider
        self.folder = folder
        self._remotes: dict[str, Remote] = {}
        self._remotes_lock = threading.Lock()

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = get_provider(self.require_stack().provider)
        return self._provider

    def require_stack(self) -> Stack:
        if self.stack is None:
            raise StackError(
                f"No stack descriptor ({self.folder}/workshop-stack.json): run this notebook's first cell, "
                "`lab = workshop.open_lab()`, before grading it"
            )
        return self.stack

    # -- reading ------------------------------------------------------------
    def instance(self, name: str) -> Instance:
        stack = self.require_stack()
        if name not in stack.instances:
            self._reload()
        if name not in stack.instances:
            raise StackError(f"Stack {stack.name!r} has no instance {name!r} yet: start it with lab.up({name!r})")
        return Instance(self, name)

    def _reload(self) -> None:
        """Take in what another process (the CLI, another notebook) saved since this lab was opened,
        so this lab never overwrites it with a stale copy."""
        stack = self.require_stack()
        if grading.active() or not stack.path.is_file():
            return
        saved = Stack.load(stack.path)
        stack.instances = {**stack.instances, **saved.instances}
        stack.network = {**stack.network, **saved.network}
        for copy in saved.copies:
            if copy not in stack.copies:
                stack.copies.append(copy)

    def remote(self, name: str) -> Remote:
        """The one SSH connection to `name` this lab keeps open (every Instance of it shares
        it: a new connection per command would cost a handshake each); a new one once the
        instance's record changes (recreated, new ports)."""
        record = self.require_stack().instances[name]
        with self._remotes_lock:
            remote = self._remotes.get(name)
            if remote is None or remote.record != record:
                if remote is not None:
                    remote.close()
                remote = self._remotes[name] = Remote.to(self.stack, name)
            return remote

    def forget_connections(self, *names: str) -> None:
        """Close the kept connections to `names` (all when none given): their machines
        were stopped, crashed or started again, and the next command reconnects."""
        with self._remotes_lock:
            for name in names or list(self._remotes):
                remote = self._remotes.pop(name, None)
                if remote is not None:
                    remote.close()

    @property
    def instances(self) -> list[Instance]:
        return [Instance(self, name) for name in self.require_stack().instances]

    def status(self) -> list[dict]:
        """One row per instance: role, state, private address, public endpoints."""
        stack = self.require_stack()
        self._reload()
        states = self.provider.states(stack)
        rows = []
        for name, record in stack.instances.items():
            rows.append({
                "name": name, "role": record.role, "state": states.get(name, MISSING),
                "private_ip": record.private_ip,
                "public": ", ".join(f"{port}->{record.public_host}:{host}" for port, host in record.ports.items()),
            })
        for name in sorted(set(states) - set(stack.instances)):
            rows.append({"name": name, "role": "?", "state": states[name], "private_ip": "?",
                         "public": "not in the descriptor (an interrupted `up`)"})
        return rows

    def diagram(self, poll=None):
        """A picture of this stack now: its machines by tier, the request path, each machine
        coloured by its checks (workshop/diagram.py). The checks run read-only, a few chapters at
        a time, unless `poll` (workshop.poll.poll_stack's result) is given. Shows inline in
        Jupyter; `.save("stack.png")` writes it."""
        from .diagram import of_lab  # matplotlib and the grader load only when a picture is asked for

        return of_lab(self, poll)

    def serves(self, name: str, unit: str) -> bool:
        """Whether `name` runs with its systemd `unit` active: deployed for its role, not
        just started (catch-up starts a chapter's machines before it deploys them)."""
        stack = self.require_stack()
        if name not in stack.instances or self.provider.states(stack).get(name) != RUNNING:
            return False
        return self.instance(name).run(f"systemctl is-active -q {unit}", readonly=True, check=False).ok

    def planned_ip(self, name: str) -> str:
        """The private address `name` has, or will have once started (fixed by the topology)."""
        stack = self.require_stack()
        if name in stack.instances:
            return stack.instances[name].private_ip
        if "subnet" not in stack.network:
            raise StackError("The stack has no network yet: start an instance first (lab.up(\"web1\"))")
        return str(ipaddress.ip_network(stack.network["subnet"]).network_address + topology.spec(name).host_number)

    @property
    def ssh_config(self) -> str:
        """Path of the stack's ssh_config (Host web1, db1, ...), for ssh -F and fab -S."""
        return str(self.require_stack().folder / "ssh_config")

    def ssh_command(self, name: str) -> str:
        """The `ssh` command line that logs into `name` as the stack's user."""
        stack = self.require_stack()
        record = self.instance(name).record
        return (f"ssh -i {stack.ssh_key} -p {record.public_port(22)} -o IdentitiesOnly=yes "
                f"-o UserKnownHostsFile={stack.folder / 'known_hosts'} -o StrictHostKeyChecking=yes "
                f"{stack.ssh_user}@{record.public_host}")

    # -- changing -----------------------------------------------------------
    def up(self, *names: str) -> Instance | list[Instance]:
        """Start the named instances (resuming any that exist), all at once; idempotent.
        Instances already recorded and running are left as they are (one state query).
        No names: every instance the stack has (after the host restarted), or web1 on a new stack.

        Returns the Instance, or a list of them when several names are given.
        """
        names = names or tuple(self.stack.instances if self.stack else ()) or ("web1",)
        for name in names:
            topology.spec(name)
        if grading.active():
            grading.skip(f"lab.up({', '.join(map(repr, names))})")
        else:
            stack = self.require_stack()
            self._reload()
            states = self.provider.states(stack) if stack.instances else {}
            missing = [name for name in names if name not in stack.instances or states.get(name) != RUNNING]
            if missing:
                self._start(missing)
        handles = [self.instance(name) for name in names]
        return handles[0] if len(handles) == 1 else handles

    def _start(self, names: list[str]) -> None:
        """Create or resume `names` concurrently (as far as the provider allows), recording
        each one in the descriptor as soon as it exists."""
        stack = self.require_stack()
        progress = Progress(f"stack {stack.name}")
        self.provider.prepare(stack, progress)
        stack.save()
        public_key = public_key_line(Path(stack.ssh_key))
        recording = threading.Lock()

        def start(name: str) -> None:
            self.forget_connections(name)
            record = self.provider.create_instance(stack, topology.spec(name), public_key, progress)
            with recording:
                stack.instances[name] = record
                stack.save()
                self._write_known_hosts()
            self._wait_for_ssh(name, progress)

        for wave in topology.boot_waves(names):
            if self.provider.concurrent_creates:
                on_each(wave, start)
            else:
                for name in wave:
                    start(name)
        progress.done(f"{len(names)} instance(s) up")

    @grading.changes("lab.restart({name!r})", fallback=lambda self, name: self.instance(name))
    def restart(self, name: str) -> Instance:
        """Shut `name` down cleanly and boot it again (disk, addresses and ports kept)."""
        stack = self.require_stack()
        progress = Progress(f"restart {name}")
        self.instance(name)
        progress.say(name, "stopping")
        self.forget_connections(name)
        self.provider.stop(stack, name)
        progress.say(name, "starting")
        self.provider.start(stack, name, progress)
        self._wait_for_ssh(name, progress)
        progress.done()
        return self.instance(name)

    def _wait_for_ssh(self, name: str, progress: Progress) -> None:
        def answers() -> None:
            remote = Remote.to(self.stack, name, connect_timeout=5)
            try:
                remote.run("true", timeout=10, check=True)
            finally:
                remote.close()

        wait_until(answers, SSH_READY_TIMEOUT, 0.5, done=no_error, retry_on=(RemoteError,))
        progress.say(name, "SSH ready")

    def _write_known_hosts(self) -> None:
        stack = self.require_stack()
        for name, text in ssh_files(stack, stack.folder).items():
            (stack.folder / name).write_text(text)

    @grading.changes("lab.down()", fallback=lambda **_: [])
    def down(self) -> list[str]:
        """Delete every resource of the stack, its key and descriptor copies; verify nothing is left."""
        stack = self.require_stack()
        progress = Progress(f"stack {stack.name}")
        self.forget_connections()
        removed = self.provider.destroy(stack, progress)
        left = self.provider.leftovers(stack)
        if left:
            raise StackError(f"Teardown left {', '.join(left)}; run `workshop down --stack {stack.name}` again")
        for copy in stack.copies:
            Path(copy).unlink(missing_ok=True)
        shutil.rmtree(stack.folder, ignore_errors=True)
        progress.done(f"removed {len(removed)} resource(s) and the stack's key")
        return removed


def open_lab(stack: str | None = None, folder: str | os.PathLike | None = None) -> Lab:
    """The student's lab for the notebook in `folder` (default: the current directory).

    Creates the stack's key and descriptor on first use (no machine yet) and
    keeps a copy of the descriptor beside the notebook for the grader.
    """
    folder = Path(folder or os.getcwd()).resolve()
    descriptor = find_descriptor(folder)
    if grading.active():
        return Lab(_graded_stack(descriptor), None, folder)
    name = check_name(stack or (Stack.load(descriptor).name if descriptor else default_stack_name()))
    try:
        current = load_named(name) or _new_stack(name)
        current.add_copy(folder)
        current.save()
    except OSError as exc:
        raise StackError(f"Cannot write the stack's files ({exc.filename}: {exc.strerror}): set WORKSHOP_HOME to "
                         "a folder you can write, and work in a folder you can write") from None
    return Lab(current, get_provider(current.provider), folder)


def _graded_stack(descriptor: Path | None) -> Stack | None:
    """The stack of a notebook being graded: the one its descriptor names, as this WORKSHOP_HOME
    records it (under `workshop class grade`, the instructor's record, the one stack folder the
    sandbox shows; a classroom server's student submits their own copy, whose key is in their
    home); the descriptor itself when there is no such record."""
    if descriptor is None:
        return None
    try:
        name = json.loads(descriptor.read_text()).get("name")
        recorded = load_named(name) if isinstance(name, str) else None
    except (ValueError, AttributeError, StackError):
        recorded = None
    return recorded or Stack.load(descriptor)


def _new_stack(name: str) -> Stack:
    provider = get_provider(provider_name())
    stack = Stack(name=name, provider=provider.name, ssh_user=provider.ssh_user, ssh_key="")
    key = stack.folder / "id_ed25519"
    generate_key_pair(key, comment=f"workshop-{name}")
    stack.ssh_key = str(key)
    return stack


def ssh_files(stack: Stack, folder: Path) -> dict[str, str]:
    """Pinned host keys and an ssh_config naming every instance, for `workshop ssh`, a terminal
    (ssh -F ssh_config web1) and Fabric (fab -S ssh_config -H web1 deploy); `folder` is where
    they will be (a student's own copy of a class stack lives elsewhere than the instructor's)."""
    # OpenSSH looks port 22 up by the bare host name, other ports as [host]:port.
    lines = [f"{r.public_host if r.public_port(22) == 22 else f'[{r.public_host}]:{r.public_port(22)}'} {r.host_key}"
             for r in stack.instances.values() if r.host_key]
    config = "".join(
        f"Host {r.name}\n    HostName {r.public_host}\n    Port {r.public_port(22)}\n    User {stack.ssh_user}\n"
        f"    IdentityFile {stack.ssh_key}\n    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {folder / 'known_hosts'}\n    StrictHostKeyChecking yes\n\n"
        for r in stack.instances.values())
    return {"known_hosts": "\n".join(lines) + "\n", "ssh_config": config}

