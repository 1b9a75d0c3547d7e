"""What one check found: passed or not, points, hints naming the fix, evidence seen."""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"


@dataclass
class CheckResult:
    check_id: str
    title: str
    status: str
    max_points: int
    hints: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    seconds: float = 0.0  # how long the probe took: the report shows it, so slow checks are seen

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def points(self) -> int:
        return self.max_points if self.passed else 0


class Verdict:
    """What a check function returns: call `fail(hint)` for each problem, `see(**facts)` for evidence."""

    def __init__(self):
        self.hints: list[str] = []
        self.evidence: dict = {}

    def fail(self, hint: str) -> "Verdict":
        self.hints.append(hint)
        return self

    def see(self, **facts) -> "Verdict":
        self.evidence.update(facts)
        return self

    @property
    def ok(self) -> bool:
        return not self.hints
