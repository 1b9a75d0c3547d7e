"""A readable report of check results, for a terminal, a notebook or feedback HTML,
and the way back: how long each check of a printed report took (`check_times`),
which a class's grading run reads from the autograded notebooks to name its slowest checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .foundations import root_causes
from .result import NOT_RUN, PASSED, CheckResult

MARKS = {PASSED: "PASS", NOT_RUN: "----"}
_HEADER = re.compile(r"^Chapter (?P<chapter>\S+): \d+/\d+ points$")
_CHECK = re.compile(r"^  \[(?:PASS|FAIL|----)\] (?P<title>.+) \(\d+/\d+\) in (?P<seconds>\d+\.\d) s$")


@dataclass(frozen=True)
class CheckTime:
    chapter: str
    title: str
    seconds: float


def format_report(title: str, results: list[CheckResult], evidence: bool = True) -> str:
    earned = sum(r.points for r in results)
    possible = sum(r.max_points for r in results)
    lines = [f"{title}: {earned}/{possible} points"]
    lines += [f"  root cause: {cause}" for cause in root_causes(results)]
    for result in results:
        lines.append(f"  [{MARKS.get(result.status, 'FAIL')}] {result.title} ({result.points}/{result.max_points})"
                     f" in {result.seconds:.1f} s")
        for hint in result.hints:
            lines.append(f"         hint: {hint}")
        if evidence and result.evidence:
            seen = ", ".join(f"{key}={value}" for key, value in result.evidence.items())
            lines.append(f"         seen: {seen}")
    return "\n".join(lines)


def check_times(text: str) -> list[CheckTime]:
    """Every check line of the chapter reports in `text` (what graded cells printed), with its time."""
    times, chapter = [], None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            chapter = header["chapter"]
            continue
        check = _CHECK.match(line)
        if check and chapter:
            times.append(CheckTime(chapter, check["title"], float(check["seconds"])))
    return times
