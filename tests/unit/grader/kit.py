"""A scripted stand-in for the student's stack, in the spirit of `fabric.testing`:
each test says what the provider reports, what SSH commands print, which host
facts testinfra would find, how HTTP endpoints answer and which results were
recorded, then runs a real check through `grader.registry.run_check`.

Scripts added later win over earlier ones, so a module scripts a healthy stack
once and each test breaks one thing.

Example::

    target = FakeTarget()
    target.on_ssh("db1", "pg_is_in_recovery", "f\\n")
    target.on_http("web1", "/health/", respond(json={"debug": False}))
    target.facts("db1").services["postgresql@15-main"] = True
    target.recordings["crash-web1.json"] = {...}
    result = run(target, "05-load-balancing", "crash-survived")
"""

from __future__ import annotations

import json as jsonlib
import tempfile
from datetime import datetime, timezone
from dataclasses import dataclass, field
from types import SimpleNamespace
from pathlib import Path
from typing import Any

import requests

from grader.course_answers import ANSWER_FILES
from grader.registry import checks_for, run_check
from grader.result import FAILED, CheckResult
from grader.target import Target
from workshop.providers import MISSING, RUNNING
from workshop.records import RecordFolders
from workshop.remote import CommandResult
from workshop.stack import InstanceRecord, Stack

PRIVATE_IPS = {"lb1": "10.0.0.11", "web1": "10.0.0.21", "web2": "10.0.0.22", "cache1": "10.0.0.31",
               "cache2": "10.0.0.32", "db1": "10.0.0.41", "db2": "10.0.0.42", "pgpool1": "10.0.0.45",
               "varnish1": "10.0.0.51", "media1": "10.0.0.61"}
STACK = "units"


class Unscripted(AssertionError):
    """A probe asked for something the test did not script (shown in the check's hint)."""


def respond(status: int = 200, json: Any = None, text: str = "", headers: dict | None = None,
            content: bytes | None = None) -> requests.Response:
    """A real requests.Response, as `Target.http` returns one."""
    response = requests.Response()
    response.status_code = status
    if json is not None:
        content, headers = jsonlib.dumps(json).encode(), {"Content-Type": "application/json", **(headers or {})}
    response._content = content if content is not None else text.encode()
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    return response


def access_log(agents: list[str] | str, statuses: list[int] | None = None, seconds: float = 15,
               start: float = 1_800_000_000) -> str:
    """Combined-format access log lines (Apache's and nginx's), one per User-Agent in `agents`
    (or `statuses` many of one agent), arriving evenly over `seconds`."""
    statuses = statuses or [200] * (len(agents) if isinstance(agents, list) else 1)
    agents = agents if isinstance(agents, list) else [agents] * len(statuses)
    lines = []
    for number, (agent, status) in enumerate(zip(agents, statuses)):
        at = datetime.fromtimestamp(start + seconds * number / max(len(statuses) - 1, 1), timezone.utc)
        lines.append(f'10.0.0.1 - - [{at:%d/%b/%Y:%H:%M:%S %z}] "GET / HTTP/1.1" {status} 612 "-" "{agent}"\n')
    return "".join(lines)


def rows(*rows: tuple) -> str:
    """psql -At -F '|' output for `rows`."""
    return "".join("|".join(str(value) for value in row) + "\n" for row in rows)


@dataclass
class HostFacts:
    """What testinfra would find on one machine."""

    services: dict[str, bool] = field(default_factory=dict)  # name -> running
    listening: list[str] = field(default_factory=list)  # testinfra socket specs, e.g. "tcp://10.0.0.41:5432"
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    directories: dict[str, list[str]] = field(default_factory=dict)  # path -> entries
    pip: dict[str, dict[str, str]] = field(default_factory=dict)  # pip path -> {package: version}
    processes: list[str] = field(default_factory=list)  # each process's args


class _File:
    """testinfra's host.file(path), answering from scripted facts (same errors for what is missing)."""

    def __init__(self, facts: HostFacts, path: str):
        self.facts, self.path = facts, path

    @property
    def is_file(self) -> bool:
        return self.path in self.facts.files

    @property
    def is_directory(self) -> bool:
        return self.path in self.facts.directories

    @property
    def content_string(self) -> str:
        if not self.is_file:
            raise RuntimeError(f"Unexpected output: cat: {self.path}: No such file or directory")
        return self.facts.files[self.path]

    def listdir(self) -> list[str]:
        if not self.is_directory:
            raise RuntimeError(f"Unexpected output: ls: cannot access '{self.path}'")
        return list(self.facts.directories[self.path])


def fake_host(facts: HostFacts) -> SimpleNamespace:
    """The part of testinfra's Host API the checks use, answering from `facts`."""
    def pip_packages(pip_path: str = "pip") -> dict:
        if pip_path not in facts.pip:
            raise AssertionError(f"Unexpected exit code 127 for {pip_path} list --no-index --format=json")
        return {name: {"version": version} for name, version in facts.pip[pip_path].items()}

    return SimpleNamespace(
        file=lambda path: _File(facts, path),
        service=lambda name: SimpleNamespace(is_running=facts.services.get(name, False)),
        socket=SimpleNamespace(get_listening_sockets=lambda: list(facts.listening)),
        pip=SimpleNamespace(get_packages=pip_packages),
        process=SimpleNamespace(filter=lambda: [SimpleNamespace(args=args) for args in facts.processes]),
    )


Reply = Any  # a value; an exception, raised; or a callable, whose result is the value


def _answer(reply: Reply, *args):
    if isinstance(reply, BaseException):
        raise reply
    return reply(*args) if callable(reply) else reply


class FakeTarget(Target):
    """A Target whose stack, provider, SSH, host facts, HTTP and records are scripted."""

    def __init__(self, instances: tuple[str, ...] = tuple(PRIVATE_IPS)):
        records = {name: InstanceRecord(name, name.rstrip("0123456789"), PRIVATE_IPS[name], "127.0.0.1",
                                        {"22": 2200 + i, "80": 8000 + i}, f"fake-{name}")
                   for i, name in enumerate(instances)}
        super().__init__(Stack(STACK, "local", "root", "/nonexistent/id_ed25519", {}, records), "a scripted stack")
        self.states: dict[str, str] = {name: RUNNING for name in instances}
        self.recordings: dict[str, dict] = {}
        self._record_folder = tempfile.TemporaryDirectory(prefix="fake-target-records-")
        self._ssh: list[tuple[str, str, Reply]] = []
        self._http: list[tuple[str, str, str, Reply]] = []
        self._facts: dict[str, HostFacts] = {}

    # -- scripting -----------------------------------------------------------------------------------------------
    def on_ssh(self, name: str, fragment: str, reply: Reply = "", exit_code: int = 0, stderr: str = "") -> None:
        """Commands on `name` containing `fragment` (in the command or its stdin) print `reply` (a str)
        or return it (a CommandResult), or call it with the command (and its stdin)."""
        if isinstance(reply, str):
            reply = CommandResult(fragment, reply, stderr, exit_code)
        self._ssh.append((name, fragment, reply))

    def on_http(self, name: str, path: str, reply: Reply, method: str = "GET") -> None:
        """Requests for `path` (without its query; a trailing * matches any rest) on `name` get `reply`,
        or what it returns when called with (path, request keyword arguments)."""
        self._http.append((name, method, path, reply))

    def facts(self, name: str) -> HostFacts:
        return self._facts.setdefault(name, HostFacts())

    # -- what the checks call ------------------------------------------------------------------------------------
    def state(self, name: str) -> str:
        return self.states.get(name, MISSING)

    def ssh(self, name: str, command: str, timeout: float = 0, stdin: str | None = None) -> CommandResult:
        """Scripts match the command and its stdin (a query is sent there) as one text."""
        self.record(name)
        sent = command if stdin is None else f"{command}\n{stdin}"
        for host, fragment, reply in reversed(self._ssh):
            if host == name and fragment in sent:
                result = _answer(reply, sent)
                return result if isinstance(result, CommandResult) else CommandResult(command, str(result), "", 0)
        raise Unscripted(f"unscripted command on {name}: {sent}")

    def host(self, name: str):
        self.record(name)
        return fake_host(self.facts(name))

    def http(self, name: str, path: str = "/", port: int = 80, method: str = "GET", **kwargs) -> requests.Response:
        self.record(name)
        for host, verb, scripted, reply in reversed(self._http):
            asked = path.split("?")[0]
            if (host, verb) == (name, method) and (asked == scripted or scripted.endswith("*")
                                                   and asked.startswith(scripted[:-1])):
                return _answer(reply, path, kwargs)
        raise Unscripted(f"unscripted HTTP {method} {name}:{path}")

    def recorded(self, kind, key: str, run: str, own: bool = True):
        """The one seam for recorded results (load tests, drills): `recordings` by file name,
        written where the notebook's records would be and read back through the real
        records module, so its verdicts (missing, another stack's, damaged) are the ones tested."""
        self._write_recordings()
        return super().recorded(kind, key, run, own)

    def recorded_all(self, kind):
        self._write_recordings()
        return super().recorded_all(kind)

    def _write_recordings(self) -> None:
        self.records = RecordFolders(Path(self._record_folder.name), None)
        for name, content in self.recordings.items():
            (Path(self._record_folder.name) / name).write_text(jsonlib.dumps(content))


class FakeClock:
    """time.monotonic and time.sleep for checks that wait: sleeping advances the clock at once."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def check_ids(chapter: str) -> list[str]:
    """Every check of `chapter`: a module's pass test covers checks added later too."""
    return [item.check_id for item in checks_for(chapter)]


def run(target: FakeTarget, chapter: str, check_id: str, **answers) -> CheckResult:
    """Run the real check `check_id` of `chapter` on `target`, as grading does."""
    [item] = checks_for(chapter, (check_id,))
    return run_check(item, target, answers)


def own_answer(target: FakeTarget, chapter: str) -> dict:
    """The answer cell of `chapter`'s exercise, as its machine runs it (grader/course_answers.py)."""
    answer = ANSWER_FILES[chapter]
    text = f"# {answer.what}, written by the student\n"
    target.on_ssh(answer.machine, f"cat {answer.path}", text)
    return {answer.variable: text}


def assert_hint(result: CheckResult, text: str) -> None:
    """The check failed, and one of its hints says `text`."""
    assert result.status == FAILED and any(text in hint for hint in result.hints), (result.status, result.hints)


def health(web: str = "web1", **parts) -> requests.Response:
    """The app's /health/ answer on a fully built stack, with `parts` replaced."""
    document = {
        "debug": False,
        "release": "abc123def456",
        "wsgi": {"server": "mod_wsgi", "mode": "daemon", "process_group": "newsroom",
                 "python_prefix": "/srv/newsroom/venv", "virtualenv": True},
        "database": {"vendor": "postgresql", "host": PRIVATE_IPS["pgpool1"], "name": "newsroom", "ok": True},
        "cache": {"backend": "django.core.cache.backends.memcached.PyMemcacheCache", "ok": True,
                  "servers": [f"{PRIVATE_IPS['cache1']}:11211", f"{PRIVATE_IPS['cache2']}:11211"]},
        "storage": {"backend": "storages.backends.s3.S3Storage"},
    }
    document.update(parts)
    return respond(json=document, headers={"Server": "Apache/2.4.62 (Debian)", "X-Served-By": web})
