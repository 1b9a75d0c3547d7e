"""A readable report of check results, for a terminal, a notebook or feedback HTML."""

from __future__ import annotations

from .result import NOT_RUN, PASSED, CheckResult

MARKS = {PASSED: "PASS", NOT_RUN: "----"}


def format_report(title: str, results: list[CheckResult], evidence: bool = True) -> str:
    earned = sum(r.points for r in results)
    possible = sum(r.max_points for r in results)
    lines = [f"{title}: {earned}/{possible} points"]
    for result in results:
        lines.append(f"  [{MARKS.get(result.status, 'FAIL')}] {result.title} ({result.points}/{result.max_points})")
        for hint in result.hints:
            lines.append(f"         hint: {hint}")
        if evidence and result.evidence:
            seen = ", ".join(f"{key}={value}" for key, value in result.evidence.items())
            lines.append(f"         seen: {seen}")
    return "\n".join(lines)
