"""Recorded results: what a load test or a failure drill measured, typed, saved one way
and read one way by the notebooks, catch-up, the export and the checks.

A run saves its record beside the notebook (it travels with the submission) and in
the stack's own folder; readers look beside the notebook first. A file that is not
JSON, lacks a field or has one of the wrong type is "not recorded properly", with
the reason, never a KeyError later. Every record names its stack, when the run
started and a run id (uuid4 hex) that the run also sends to the servers (in the
User-Agent of its requests, in the failover drill's marker rows), so the servers'
own logs can vouch for it (`agent` is the User-Agent it sends). A run made by `workshop
catch-up` says so in its User-Agent too (`by_catch_up`): the logs show whose run it was,
so a record edited to pass catch-up's run for the student's own shows as edited. Files saved before run ids
existed load without one, but no check takes them (`made_on`): nothing on the servers can
vouch for them, so they are run again. Deploys are logged on the web servers themselves
(DEPLOY_LOG, read as `Deploy`s).

Example::

    folders = RecordFolders.of(lab)
    folders.save(drill)
    folders.made_on(CrashDrill, "web1", lab.stack.name, run='crash_web_server(lab, "web1")').failed   # 0
"""

from __future__ import annotations

import json
import re
import time
import types
import typing
import uuid
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from .errors import WorkshopError


class NotRecorded(WorkshopError):
    """No usable record of a run on this stack; the message says which and how to record one."""


class NotRecordedProperly(NotRecorded):
    """A record file that is damaged or incomplete; the message names the file and what is wrong."""


#: What `new_run` makes: checks put a run id into shell commands and SQL, so nothing else is one.
RUN_ID = re.compile(r"[0-9a-f]{32}")


def new_run(by_catch_up: bool = False) -> dict:
    """`started_at`, `run_id` and `by_catch_up` of a run starting now (keyword arguments of a record)."""
    return {"started_at": time.time(), "run_id": uuid.uuid4().hex, "by_catch_up": by_catch_up}


@dataclass(frozen=True, kw_only=True)
class Record:
    """What every record carries. `started_at` and `run_id` are None in drill files saved
    before run ids existed."""

    PREFIX: ClassVar[str]   # file name: PREFIX + key + ".json"
    FOLDER: ClassVar[str]   # subfolder of the stack's folder
    KEY: ClassVar[str]      # the field the file is named after
    WHAT: ClassVar[str]     # how messages name it: WHAT recorded FOR (FOR has a {} for the key)
    FOR: ClassVar[str]

    stack: str
    started_at: float | None = None
    run_id: str | None = None
    by_catch_up: bool = False  # catch-up's runs let the next chapter start; they earn no marks

    @classmethod
    def file_name(cls, key: str) -> str:
        return f"{cls.PREFIX}{key}.json"

    @classmethod
    def title(cls, key: str) -> str:
        return f"{cls.WHAT} {cls.FOR.format(key)}"

    @property
    def key(self) -> str:
        return getattr(self, self.KEY)

    def to_dict(self) -> dict:
        """The JSON object of the file (what the notebooks show: the keys are the field names)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "Record":
        """The record in `data`; NotRecordedProperly (the reason, without the file) if it is not one."""
        return _build(cls, data, "")


@dataclass(frozen=True)
class LoadProfile:
    """How hard and how long to push: the same load at every stage makes stages comparable."""

    name: str
    threads: int
    connections: int
    duration_s: int
    path: str = "/"
    timeout_s: int = 5

    def same_load(self, other: "LoadProfile") -> bool:
        """Whether two runs pushed alike (threads, connections, path, timeout), so their
        throughputs compare: the duration only changes how many requests make the average.

        >>> LoadProfile("baseline", 2, 32, 15).same_load(LoadProfile("catch-up", 2, 32, 5))
        True
        """
        return (self.threads, self.connections, self.path, self.timeout_s) == \
            (other.threads, other.connections, other.path, other.timeout_s)


@dataclass(frozen=True)
class Latency:
    """Latency percentiles of a load test, in milliseconds."""

    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    mean: float


@dataclass(frozen=True, kw_only=True)
class LoadTest(Record):
    """One stage's load test (wrk's summary and what it ran against)."""

    PREFIX, FOLDER, KEY, WHAT, FOR = "loadtest-", "loadtests", "stage", "load test", "for stage {}"

    # Required (field() drops Record's default): load tests always recorded it, and the final
    # check compares it with varnish's uptime.
    started_at: float = field()
    stage: str
    target: str
    url: str
    profile: LoadProfile
    requests: int
    failed: int
    non_2xx_3xx: int
    socket_errors: int
    duration_s: float
    bytes: int
    latency_ms: Latency
    throughput_rps: float
    error_rate: float
    finished_at: float

    @property
    def agent(self) -> str:
        return loadtest_agent(self.stage, self.run_id, self.by_catch_up)


@dataclass(frozen=True, kw_only=True)
class CrashDrill(Record):
    """A web server crashed behind the load balancer: failed requests, time back in rotation."""

    PREFIX, FOLDER, KEY, WHAT, FOR = "crash-", "drills", "victim", "crash drill", "for {}"

    victim: str
    through: str
    requests: int
    failed: int
    killed_after: int
    max_latency_s: float
    served_by_after_kill: list[str]
    recovery_s: float | None
    finished_at: float

    @property
    def agent(self) -> str:
        return crash_agent(self.victim, self.run_id, self.by_catch_up)


@dataclass(frozen=True, kw_only=True)
class FailoverDrill(Record):
    """The primary database killed under writes: how long writes failed, what was lost."""

    PREFIX, FOLDER, KEY, WHAT, FOR = "failover-", "drills", "victim", "failover drill", "for {}"

    victim: str
    survivor: str
    through: str
    marker_prefix: str
    requests: int
    killed_after: int
    killed_at_s: float
    acknowledged: int
    acknowledged_markers: list[str]
    acknowledged_after_kill: int
    failed: int
    timed_out_before_kill: int
    unavailable_s: float | None
    survivor_promoted: bool
    lost: int
    lost_markers: list[str]
    finished_at: float

    @property
    def agent(self) -> str:
        """What every write's User-Agent starts with (`failover_agent` adds the write's number)."""
        return failover_agent(self.victim, self.run_id, by_catch_up=self.by_catch_up)


def _run_tag(run_id: str, by_catch_up: bool) -> str:
    return f"run/{run_id}" + (" by/catch-up" if by_catch_up else "")


def loadtest_agent(stage: str, run_id: str, by_catch_up: bool = False) -> str:
    """The User-Agent of a load test's requests (configs/wrk/report.lua sends it).

    >>> loadtest_agent("02-baseline", "0123", by_catch_up=True)
    'workshop-loadtest/02-baseline run/0123 by/catch-up'
    """
    return f"workshop-loadtest/{stage} {_run_tag(run_id, by_catch_up)}"


def crash_agent(victim: str, run_id: str, by_catch_up: bool = False) -> str:
    """The User-Agent of a crash drill's requests."""
    return f"workshop-drill/crash-{victim} {_run_tag(run_id, by_catch_up)}"


def failover_agent(victim: str, run_id: str, index: int | None = None, by_catch_up: bool = False) -> str:
    """The User-Agent of a failover drill's write number `index` (its marker's number): lb1's
    access log then shows which of the drill's writes the app acknowledged.

    >>> failover_agent("db1", "0123", 7)
    'workshop-drill/failover-db1 run/0123 write/0007'
    """
    return f"workshop-drill/failover-{victim} {_run_tag(run_id, by_catch_up)}" + \
        ("" if index is None else f" write/{index:04d}")


#: Where the fabfile logs every deploy on a web server, one line each: DATE RELEASE_ID ACTION.
DEPLOY_LOG = "/srv/newsroom/deploys.log"


@dataclass(frozen=True)
class Deploy:
    """One line of a web server's deploy log. It is written by the student's own fabfile, on
    the server, in the format the exercise gives: no stack or run id, and the server is its
    own witness."""

    at: str
    release_id: str
    action: str  # switched, already-live, failed or rollback

    @classmethod
    def parse_log(cls, text: str) -> list["Deploy"]:
        """The log's deploys, oldest first; lines not of three fields are no deploy and are left out."""
        return [cls(*line.split()) for line in text.splitlines() if len(line.split()) == 3]


R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class RecordFolders:
    """Where a lab's records are: beside the notebook, and in the stack's folder on this machine."""

    notebook: Path | None
    stack: Path | None

    @classmethod
    def of(cls, lab) -> "RecordFolders":
        """The folders of a Lab (or anything with `folder` and `stack`)."""
        return cls(lab.folder, lab.stack.folder if lab.stack else None)

    def folders(self, kind: type[Record]) -> list[Path]:
        """In lookup order: beside the notebook first."""
        return [Path(folder) for folder in (self.notebook, self.stack and Path(self.stack) / kind.FOLDER) if folder]

    def save(self, record: Record) -> None:
        """Write the record to the stack's folder and beside the notebook."""
        text = json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n"
        for folder in reversed(self.folders(type(record))):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / record.file_name(record.key)).write_text(text)

    def load(self, kind: type[R], key: str) -> R | None:
        """The first file of `key` in lookup order, or None; NotRecordedProperly if that file is no record."""
        for folder in self.folders(kind):
            path = folder / kind.file_name(key)
            if path.is_file():
                return _read(kind, key, path)
        return None

    def load_all(self, kind: type[R]) -> dict[str, R]:
        """Every properly recorded key, sorted; damaged files are left out (their key counts as not recorded)."""
        keys = {path.name[len(kind.PREFIX):-len(".json")]
                for folder in self.folders(kind) for path in folder.glob(kind.file_name("*"))}
        found = {}
        for key in sorted(keys):
            try:
                found[key] = self.load(kind, key)
            except NotRecordedProperly:
                continue
        return found

    def made_on(self, kind: type[R], key: str, stack: str, run: str) -> R:
        """The record of `key` if it was made on `stack`; else NotRecorded saying why (missing,
        another stack's, not recorded properly) and to `run` it (the call that records it)."""
        try:
            record = self.load(kind, key)
        except NotRecordedProperly as exc:
            raise NotRecordedProperly(f"{exc}: run it again ({run})") from None
        if record is None:
            raise NotRecorded(f"no {kind.WHAT} recorded {kind.FOR.format(key)}: run {run}")
        if record.stack != stack:
            raise NotRecorded(f"the recorded {kind.title(key)} ran against stack {record.stack}, not {stack}: "
                              f"run it again ({run})")
        if record.run_id is None or record.started_at is None:
            raise NotRecorded(f"the recorded {kind.title(key)} has no run id and start time (recorded before runs "
                              f"were tagged, or edited), so the servers cannot vouch for it: run it again ({run})")
        if not RUN_ID.fullmatch(record.run_id):
            raise NotRecordedProperly(f"the recorded {kind.title(key)} has run id {record.run_id!r}, which no run "
                                      f"makes (32 hex digits): run it again ({run})")
        return record


def _read(kind: type[R], key: str, path: Path) -> R:
    where = f"the {kind.title(key)} in {path} is not recorded properly"
    try:
        return kind.from_dict(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise NotRecordedProperly(f"{where}: {exc}") from None
    except NotRecordedProperly as exc:
        raise NotRecordedProperly(f"{where}: {exc}") from None


def _build(cls: type, data: object, where: str):
    """`cls(**data)` with each field checked against its annotation (nested dataclasses too);
    unknown keys are ignored."""
    if not isinstance(data, dict):
        raise NotRecordedProperly(f"{where or 'the file'} is not a JSON object")
    hints = typing.get_type_hints(cls)
    values, missing = {}, []
    for each in fields(cls):
        name = f"{where}{each.name}"
        if each.name not in data:
            if each.default is MISSING and each.default_factory is MISSING:
                missing.append(name)
            continue
        hint, value = hints[each.name], data[each.name]
        if is_dataclass(hint):
            values[each.name] = _build(hint, value, f"{name}.")
        elif _conforms(value, hint):
            values[each.name] = value
        else:
            raise NotRecordedProperly(f"{name} is {value!r}, not {_type_name(hint)}")
    if missing:
        raise NotRecordedProperly(f"{', '.join(missing)} missing")
    return cls(**values)


def _conforms(value: object, hint) -> bool:
    """Whether a JSON value fits an annotation: str, int, float (an int will do), bool,
    list[X] and X | None are all records use."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in typing.get_args(hint))
    if origin is list:
        return isinstance(value, list) and all(_conforms(item, typing.get_args(hint)[0]) for item in value)
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint)


def _type_name(hint) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)
