"""Which checks each graded cell of an exercise notebook runs, and the answers it printed.

The checks are read from the instructor's copy of the notebook (solutions/), never from a
submission: a graded cell is one call, `grader.assert_checks(chapter, *ids, **answers)`.
Under nbgrader's autograde that call probes nothing (the student's code shares its kernel
and could change any verdict there); it prints its answers on one line, ANSWERS, which
the instructor's side reads back from the autograded notebook and checks against the
stack it knows (workshop/live_scores.py).

>>> cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "c", "points": 2}},
...         "source": 'grader.assert_checks("01-getting-started", "os-expected", "os-name-answer", os_name=os_name)'}
>>> checks_of(cell)
GradedCell(grade_id='c', points=2, chapter='01-getting-started', check_ids=('os-expected', 'os-name-answer'), answers=('os_name',))
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

ANSWERS = "[grader] answers, checked from the instructor's side: "
#: Set by Course.autograde while nbgrader runs: the live-stack points are measured outside the
#: kernel. A bare `nbgrader autograde` does not set it, and its graded cells probe as they always did.
SCORED_OUTSIDE = "WORKSHOP_LIVE_SCORES_OUTSIDE"


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    chapter: str
    check_ids: tuple[str, ...]
    answers: tuple[str, ...]


def checks_of(cell: dict) -> GradedCell | None:
    """The checks a graded cell runs, or None for a cell that is not a graded check cell.
    A graded cell must make exactly one `grader.assert_checks` call with literal ids."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not nbgrader.get("grade") or nbgrader.get("solution"):
        return None
    source = "".join(cell["source"])
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr == "assert_checks"]
    if len(calls) != 1 or not all(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                                  for arg in calls[0].args):
        raise ValueError(f"graded cell {nbgrader.get('grade_id')!r} must make one grader.assert_checks call "
                         f"with literal chapter and check ids:\n{source}")
    chapter, *ids = (arg.value for arg in calls[0].args)
    answers = tuple(keyword.arg for keyword in calls[0].keywords if keyword.arg not in (None, "folder"))
    return GradedCell(nbgrader["grade_id"], nbgrader.get("points", 0), chapter, tuple(ids), answers)


def graded_cells(notebook: Path) -> list[GradedCell]:
    """Every graded check cell of `notebook` (an .ipynb file), in order."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    return [found for found in map(checks_of, cells) if found is not None]


def answers_line(answers: dict) -> str:
    """The line a graded cell prints under autograde (values that are not JSON become their str)."""
    return ANSWERS + json.dumps(answers, default=str, sort_keys=True)


def printed_answers(cell: dict) -> dict:
    """The answers the graded `cell` printed (its last ANSWERS line), or {} if it printed none."""
    found: dict = {}
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in "".join(output.get("text", "")).splitlines():
                if line.startswith(ANSWERS):
                    try:
                        parsed = json.loads(line[len(ANSWERS):])
                    except ValueError:
                        continue
                    found = parsed if isinstance(parsed, dict) else {}
    return found
