"""The registry of checks, by chapter id (workshop/chapters.py), and the runner that never crashes.

Example::

    @check("01-getting-started", "instance-running", "web1 is running", points=2)
    def instance_running(target, verdict): ...
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass
from typing import Callable

from workshop.errors import WorkshopError

from .course_answers import withhold
from .foundations import attribute_root_causes
from .result import FAILED, NOT_RUN, PASSED, CheckResult, Verdict
from .target import Target

DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class Check:
    chapter: str
    check_id: str
    title: str
    points: int
    probe: Callable[[Target, Verdict], None]
    answers: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    #: The machines whose foundations it stands on (grader/foundations.py): None, every machine of
    #: its chapter; () for a check that probes a foundation itself (web1 running), never "not checked".
    stands_on: tuple[str, ...] | None = None
    #: The health foundations it judges itself (foundations.HEALTH: "streaming", "varnish-backend"):
    #: their failure gets the check's own, more specific hint, never "not checked".
    judges: tuple[str, ...] = ()


CHECKS: dict[str, dict[str, Check]] = {}


def check(chapter: str, check_id: str, title: str, points: int, answers: tuple[str, ...] = (),
          timeout: float = DEFAULT_TIMEOUT, stands_on: tuple[str, ...] | None = None, judges: tuple[str, ...] = ()):
    """Register `probe(target, verdict)` as a check of `chapter`.

    `answers` names notebook variables the check compares with what it probes; `stands_on`,
    the machines it needs up and serving (default: all of its chapter's); `judges`, the health
    foundations it probes itself (see Check).
    """
    def register(probe):
        CHECKS.setdefault(chapter, {})[check_id] = Check(chapter, check_id, title, points, probe, answers, timeout,
                                                         stands_on, judges)
        return probe
    return register


def checks_for(chapter: str, ids: tuple[str, ...] = ()) -> list[Check]:
    if chapter not in CHECKS:
        raise KeyError(f"No checks for chapter {chapter!r}; chapters: {', '.join(sorted(CHECKS))}")
    chapter_checks = CHECKS[chapter]
    unknown = [i for i in ids if i not in chapter_checks]
    if unknown:
        raise KeyError(f"Chapter {chapter} has no check {', '.join(unknown)}; it has {', '.join(chapter_checks)}")
    return [chapter_checks[i] for i in ids] if ids else list(chapter_checks.values())


def run_check(item: Check, target: Target, answers: dict | None = None) -> CheckResult:
    """Run one check within its time limit; any failure becomes a hint, never an exception."""
    if any(name not in (answers or {}) for name in item.answers):
        return CheckResult(item.check_id, item.title, NOT_RUN, item.points,
                           [f"needs the notebook's answer ({', '.join(item.answers)}): run it from the exercise notebook"])
    verdict = Verdict()
    view = target.for_check()
    view.answers = answers or {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    started = time.monotonic()
    future = pool.submit(item.probe, view, verdict)
    try:
        future.result(timeout=item.timeout)
    except concurrent.futures.TimeoutError:
        stale = target.abandon(view)
        future.add_done_callback(lambda _: [remote.close() for remote in stale])
        verdict = Verdict().fail(f"the check did not finish within {item.timeout:.0f}s: is the stack overloaded "
                                 "or half up? See `workshop status`")
    except WorkshopError as exc:  # a probe that could not observe the stack: its message is the hint
        verdict.fail(str(exc))
    except Exception as exc:  # a bug in the check itself must not pass for the student's fault, nor crash grading
        verdict.fail(f"the check could not judge this stack ({exc.__class__.__name__}: {exc}); "
                     "show this to the instructor")
    finally:
        pool.shutdown(wait=False)
    status = PASSED if verdict.ok else FAILED
    return CheckResult(item.check_id, item.title, status, item.points, verdict.hints, verdict.evidence,
                       time.monotonic() - started)


def run_checks(chapter: str, target: Target, ids: tuple[str, ...] = (), answers: dict | None = None) -> list[CheckResult]:
    """Run the checks; failed ones that stand on a broken foundation say so instead (foundations.py),
    and none passes on a stack that runs the course's own answer (course_answers.py)."""
    items = checks_for(chapter, ids)
    results = [run_check(item, target, answers) for item in items]
    return withhold(chapter, target, attribute_root_causes(chapter, target, results, {item.check_id: item for item in items}))
