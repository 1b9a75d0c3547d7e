"""The student's stack as a check sees it: from outside, read-only.

Checks reach instances the way an ops engineer would: the provider's view
of which machines run, SSH with the stack's key, HTTP on public endpoints.
They never import the deploy code, so a deploy bug cannot hide itself.
Facts about a machine (services, listening sockets, files, packages,
processes) come from testinfra over the same SSH connection. Example::

    target = Target.from_folder(".")
    target.host("db1").service("postgresql@15-main").is_running
"""

from __future__ import annotations

import copy
import shlex
from pathlib import Path

import requests
from testinfra.host import Host

from workshop.errors import WorkshopError
from workshop.providers import MISSING, get_provider
from workshop.records import NotRecorded, R, Record, RecordFolders
from workshop.remote import CommandResult, Remote
from workshop.stack import Stack, find_descriptor, load_named

from .access_log import Logged
from .remote_host import remote_host

PROBE_CONNECT_TIMEOUT = 5
PROBE_COMMAND_TIMEOUT = 20
HTTP_TIMEOUT = 10
LOG_READ_TIMEOUT = 40  # a baseline's few thousand lines, from logs that may have grown all course long


class ProbeError(WorkshopError):
    """A probe could not observe what it needed; the message is the hint."""


class Target:
    def __init__(self, stack: Stack | None, source: str, folder: Path | None = None,
                 stack_folder: Path | None = None):
        """`folder`: the notebook's; `stack_folder`: where the stack's own files are (default: on this machine)."""
        self.stack = stack
        self.source = source
        self.folder = folder
        self.records = RecordFolders(folder, stack_folder or (stack.folder if stack else None))
        self.answers: dict = {}
        self._remotes: dict[str, Remote] = {}
        self._hosts: dict[str, Host] = {}
        self._states: dict[str, str] | None = None
        self._abandoned = False
        self.foundations: dict = {}  # what grader/foundations.py found, for this target's lifetime

    @classmethod
    def from_folder(cls, folder: str | Path) -> "Target":
        """The stack whose descriptor travels with the notebook in `folder`."""
        descriptor = find_descriptor(Path(folder))
        folder = Path(folder).resolve()
        return cls(Stack.load(descriptor) if descriptor else None, f"{folder}/workshop-stack.json", folder)

    @classmethod
    def for_stack(cls, name: str) -> "Target":
        """The stack called `name` on this machine (what `workshop check` grades)."""
        return cls(load_named(name), f"stack {name!r}")

    def require_stack(self) -> Stack:
        if self.stack is None:
            raise ProbeError(f"no stack found ({self.source}): run `lab = workshop.open_lab()` and `lab.up(\"web1\")`")
        return self.stack

    def record(self, name: str):
        stack = self.require_stack()
        if name not in stack.instances:
            raise ProbeError(f"the stack has no instance {name}: start it with lab.up({name!r})")
        return stack.instances[name]

    def state(self, name: str) -> str:
        """running, stopped or missing, as the provider reports it."""
        if self._states is None:
            stack = self.require_stack()
            self._states = get_provider(stack.provider).states(stack)
        return self._states.get(name, MISSING)

    def for_check(self) -> "Target":
        """The view one check probes through: it shares this target's connections
        (one SSH session per machine for a whole report) until `abandon` cuts it off."""
        view = copy.copy(self)
        view.answers = {}
        return view

    def abandon(self, view: "Target") -> list[Remote]:
        """Cut off a timed-out check's view: it can open or use no connection any more, and
        later checks get fresh ones, so a probe still running can never share a connection
        with the next check. Returns the abandoned connections (closed; close them again
        once the probe's thread ends, in case it opened one meanwhile)."""
        view._abandoned = True
        stale, self._remotes = self._remotes, {}
        for remote in stale.values():
            remote.close()
        return list(stale.values())

    def remote(self, name: str) -> Remote:
        if self._abandoned:
            raise ProbeError("this check ran past its time limit and was abandoned")
        if name not in self._remotes:
            stack = self.require_stack()
            self._remotes[name] = Remote(self.record(name), stack.ssh_user, stack.ssh_key,
                                         connect_timeout=PROBE_CONNECT_TIMEOUT)
        return self._remotes[name]

    def ssh(self, name: str, command: str, timeout: float = PROBE_COMMAND_TIMEOUT,
            stdin: str | None = None) -> CommandResult:
        """Run a read-only probe command on `name`, `stdin` as its input; raises with a hint if unreachable."""
        return self.remote(name).run(command, timeout=timeout, stdin=stdin)

    def host(self, name: str) -> Host:
        """testinfra's view of `name` (host.service, .socket, .file, .pip, .process), through `remote(name)`:
        kept while that connection is (an abandoned check's connections are never reused through it)."""
        remote = self.remote(name)
        host = self._hosts.get(name)
        if host is None or host.backend.remote is not remote:
            host = self._hosts[name] = remote_host(remote, PROBE_COMMAND_TIMEOUT)
        return host

    def listening_addresses(self, name: str, port: int) -> list[str]:
        """The addresses a TCP server on `name` listens on at `port` (0.0.0.0 and :: for every interface)."""
        sockets = (spec.removeprefix("tcp://") for spec in self.host(name).socket.get_listening_sockets()
                   if spec.startswith("tcp://"))
        return sorted({address for address, _, listened in (spec.rpartition(":") for spec in sockets)
                       if listened == str(port)})

    def read_file(self, name: str, path: str) -> str | None:
        """The text of the file `path` on `name`, None if there is no such file."""
        file = self.host(name).file(path)
        return file.content_string if file.is_file else None

    def count_in_logs(self, name: str, text: str, logs: str) -> int:
        """How many lines of the log files `logs` (a shell glob; rotated ones may be gzipped)
        on `name` contain `text`: the proof that a request the check sent went through that machine."""
        result = self.ssh(name, f"zcat -f {logs} 2>/dev/null | grep -cF {shlex.quote(text)} || true")
        return int(result.stdout.strip() or 0)

    def logged_run(self, name: str, record: Record, logs: str, prefix: bool = False) -> Logged:
        """The requests of `record`'s run in the access logs `logs` (a shell glob, rotated ones
        gzipped or not) on `name`, found by its User-Agent (`prefix`: the agent starts with it).
        A ProbeError if there are none: the servers cannot vouch for the record."""
        command = f"zcat -f {logs} 2>/dev/null | grep -F {shlex.quote(record.agent)} || true"
        seen = Logged.parse(self.ssh(name, command, timeout=LOG_READ_TIMEOUT).stdout, record.agent, prefix)
        if not seen.requests:
            raise ProbeError(f"{name}'s access log shows no request of the recorded {type(record).title(record.key)} "
                             f"(run {record.run_id}): it was not run against this stack, or its record was "
                             "edited; run it again")
        return seen

    def http(self, name: str, path: str = "/", port: int = 80, method: str = "GET", **kwargs) -> requests.Response:
        """An HTTP request to `name`'s public endpoint, as a browser would send it."""
        record = self.record(name)
        url = record.url(path, port)
        try:
            return requests.request(method, url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise ProbeError(f"nothing answers HTTP on {name}:{port} ({url}: {exc.__class__.__name__}): "
                             f"is the server running? (workshop ssh {name} systemctl status)") from exc

    def health(self, name: str, port: int = 80) -> dict:
        """The app's /health/ JSON through `name`, or a ProbeError saying what came back instead."""
        response = self.http(name, "/health/", port)
        try:
            data = response.json()
        except ValueError:
            if "Apache2 Debian Default Page" in self.http(name, "/", port).text:
                raise ProbeError(f"{name} serves Apache's default site, not the app: a2dissite 000-default, "
                                 "a2ensite newsroom, systemctl reload apache2") from None
            raise ProbeError(f"{name}:/health/ answered HTTP {response.status_code} without JSON: the app is not "
                             f"behind it (see /var/log/apache2/newsroom-error.log on {name})") from None
        if response.status_code != 200:
            raise ProbeError(f"{name}:/health/ answered HTTP {response.status_code}: {data.get('database', {}).get('error', data)}")
        return data

    def recorded(self, kind: type[R], key: str, run: str, own: bool = True) -> R:
        """The record (load test, drill) of `key` made on this stack, beside the notebook or
        else in the stack's folder; a ProbeError if it is missing, another stack's or not
        recorded properly, saying to `run` it. Checks cross-examine it with probes.
        `own`: the exercise's own result, which catch-up's run cannot stand in for (a record
        edited to hide that it is catch-up's no longer matches its run in the servers' logs)."""
        try:
            record = self.records.made_on(kind, key, self.require_stack().name, run)
        except NotRecorded as exc:
            raise ProbeError(str(exc)) from None
        if own and record.by_catch_up:
            raise ProbeError(f"the recorded {kind.title(key)} was run by `workshop catch-up`, which is for moving on, "
                             f"not for marks: run it yourself ({run}), then check again")
        return record

    def recorded_all(self, kind: type[R]) -> dict[str, R]:
        """Every record of `kind` made on this stack, by key (a reading of all the stages)."""
        stack = self.require_stack().name
        return {key: record for key, record in self.records.load_all(kind).items() if record.stack == stack}

    def close(self) -> None:
        for remote in self._remotes.values():
            remote.close()
        self._remotes.clear()
        self._hosts.clear()
