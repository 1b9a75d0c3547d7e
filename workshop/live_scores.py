"""Live-stack points measured from the instructor's side, never from the student's kernel.

nbgrader executes a submission in a kernel that the student's code controls: anything it
defines (`grader.assert_checks = lambda *a, **k: []`) would change a verdict made there.
So under autograde a graded cell only prints its answers (grader/graded_cells.py), and
here, in the instructor's process, each graded cell's checks run against the instructor's
own record of the student's stack (`workshop class up`, or the lab that made it), with
the answers the cell printed and the records the submission carries (which the checks
cross-examine with the servers). A cell keeps nbgrader's points only when every one of its
checks passes; otherwise the gradebook gets a score of 0 for it, and the instructor's
report is added to the cell's output in the autograded notebook, so the feedback says why.

Example::

    live = score_live(course, "01-getting-started", "alice", lab.stack)
    live.failed_cells, live.descriptor_note
    # -> ([], '')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

import grader
from grader.graded_cells import graded_cells, printed_answers
from grader.result import NOT_RUN, CheckResult

from .errors import StackError
from .stack import Stack, find_descriptor

HEADER = "Probed from the instructor's side, on the instructor's record of stack {name}:"
MISSING_CELL = "this graded cell is missing from the submitted notebook: restore it from the release to be graded"
NO_ANSWERS = ("this graded cell printed no answers for the instructor's side: run the notebook as handed out, "
              "with grader.assert_checks unchanged")
NO_RECORD = "the instructor has no record of this student's stack"


@dataclass
class LiveScore:
    """What the instructor's probes found for one submission."""

    results: dict[str, list[CheckResult]] = field(default_factory=dict)  # grade id -> its checks
    descriptor_note: str = ""  # set when the submission names another stack than the instructor's record

    @property
    def failed_cells(self) -> list[str]:
        return [grade_id for grade_id, results in self.results.items() if not all(r.passed for r in results)]


def score_live(course, assignment: str, student: str, stack: Stack | None, home: Path | None = None) -> LiveScore:
    """Run every graded cell's checks of `student`'s autograded `assignment` against `stack` (the
    instructor's record, None if there is none); write the verdicts to the gradebook and the notebooks.
    `home` is the student's own WORKSHOP_HOME, where their submission's descriptor keeps its key."""
    source = Path(course.config.CourseDirectory.source_directory) / assignment
    autograded = course.root / "autograded" / student / assignment
    submitted = course.root / "submitted" / student / assignment
    live = LiveScore(descriptor_note=descriptor_mismatch(submitted, stack, home))
    target = grader.Target(stack, f"{student}: {NO_RECORD}" if stack is None else f"the instructor's record of {stack.name}",
                           folder=submitted, stack_folder=stack.folder if stack else None)
    try:
        with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
            for master in sorted(source.glob("*.ipynb")):
                cells = graded_cells(master)
                if cells:
                    _score_notebook(gradebook, autograded / master.name, cells, target, live, assignment, student)
    finally:
        target.close()
    return live


def _score_notebook(gradebook: Gradebook, path: Path, cells, target, live: LiveScore, assignment: str,
                    student: str) -> None:
    if not path.is_file():
        return  # a notebook missing from the submission: nbgrader scores it 0 already
    notebook = nbformat.read(path, as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    for graded in cells:
        cell = by_id.get(graded.grade_id)  # nbgrader restores a graded cell's source, not a deleted cell
        if cell is None:
            live.results[graded.grade_id] = [CheckResult(item.check_id, item.title, NOT_RUN, item.points, [MISSING_CELL])
                                             for item in grader.checks_for(graded.chapter, graded.check_ids)]
            _set_score(gradebook, graded.grade_id, path.stem, assignment, student, passed=False)
            continue
        answers = printed_answers(cell)
        results = grader.run_checks(graded.chapter, target, graded.check_ids, answers)
        if graded.answers and not answers:
            for result in results:
                if result.status == NOT_RUN:
                    result.hints = [NO_ANSWERS]
        live.results[graded.grade_id] = results
        _set_score(gradebook, graded.grade_id, path.stem, assignment, student,
                   passed=all(result.passed for result in results))
        name = target.stack.name if target.stack else "(none)"
        report = grader.format_report(f"Chapter {graded.chapter}", results)
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"{HEADER.format(name=name)}\n{report}\n"))
    gradebook.db.commit()
    nbformat.write(notebook, path)


def _set_score(gradebook: Gradebook, grade_id: str, notebook: str, assignment: str, student: str,
               passed: bool) -> None:
    """nbgrader's score stands when the instructor's checks passed; else the cell scores 0."""
    try:
        grade = gradebook.find_grade(grade_id, notebook, assignment, student)
    except MissingEntry:
        return  # nbgrader recorded no grade for it: it counts for nothing already
    grade.manual_score = None if passed else 0
    grade.needs_manual_grade = False


def descriptor_mismatch(submitted: Path, stack: Stack | None, home: Path | None = None) -> str:
    """Why the descriptor in the submission is not the instructor's record of the stack, or "".
    A submission without a descriptor is not flagged: nothing here reads it. `home` is the
    student's own WORKSHOP_HOME (default: this one's), where that descriptor keeps its key."""
    path = find_descriptor(submitted)
    if path is None:
        return ""
    graded_on = "graded on the instructor's record" if stack else NO_RECORD
    try:
        claimed = Stack.load(path, home)
    except StackError as exc:
        return f"the submission's {exc}; {graded_on}"
    if stack is None:
        return f"the submission names stack {claimed.name!r}, but {NO_RECORD}"
    if claimed.name != stack.name:
        return f"the submission's descriptor names stack {claimed.name!r}, not {stack.name!r}; {graded_on}"
    differ = sorted(name for name in claimed.instances.keys() | stack.instances.keys()
                    if _identity(claimed, name) != _identity(stack, name))
    if differ:
        return f"the submission's descriptor differs from the instructor's record for {', '.join(differ)}; {graded_on}"
    return ""


def _identity(stack: Stack, name: str) -> tuple | None:
    """What names a machine: where it is reached and the host key it must show."""
    record = stack.instances.get(name)
    if record is None:
        return None
    return (record.provider_id, record.public_host, {str(k): int(v) for k, v in record.ports.items()},
            record.host_key)
