"""The nbgrader side of the course: release exercises, autograde submissions, feedback.

`python -m workshop.course release` (make release) regenerates exercises/
from solutions/. The tests release into a scratch folder and compare, and
grade real submissions with the same functions an instructor uses.

Example::

    course = Course(Path("/tmp/grading"))
    course.release()
    course.submit("01-getting-started", "alice", Path("alice-submission/"))
    course.autograde("01-getting-started", "alice", lab.stack)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader

from .chapters import ROOT, chapter_ids
from grader.graded_cells import SCORED_OUTSIDE

from .live_scores import LiveScore, score_live
from .sandbox import STACK_FOLDER, bwrap, sandboxed_preprocessors
from .stack import Stack

#: How long a gradebook write waits for another grading worker's open read (seconds).
GRADEBOOK_WAIT_S = 60


def put_tools_on_path() -> None:
    """nbgrader runs `alembic` by name: make this environment's bin/ findable."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


class Course:
    """An nbgrader course directory whose sources are this repository's solutions/.

    `root` holds the gradebook, submitted/, autograded/ and feedback/; the
    release goes to `release_directory` (default: root/release).
    """

    def __init__(self, root: Path, release_directory: Path | None = None, exchange: Path | None = None):
        put_tools_on_path()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.source_directory = str(ROOT / "solutions")
        config.CourseDirectory.release_directory = str(release_directory or self.root / "release")
        # Two grading workers share the gradebook: one autograde keeps a read open while its notebook
        # runs, and the other's write waits for it, longer than SQLite's default 5 s ("database is locked").
        config.CourseDirectory.db_url = f"sqlite:///{self.root / 'gradebook.db'}?timeout={GRADEBOOK_WAIT_S}"
        if exchange is not None:
            config.Exchange.root = str(exchange)
        config.Autograde.autograde_preprocessors = sandboxed_preprocessors()
        self.config = config
        self.api = NbGraderAPI(config=config)

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def release(self, names: list[str] | None = None) -> list[str]:
        """Generate the student version of each assignment (one per chapter, all by default)."""
        names = names or chapter_ids()
        for name in names:
            _require(self.api.generate_assignment(name, force=True), f"release {name}")
        return names

    def publish(self, assignment: str) -> None:
        """Put a released assignment into the nbgrader exchange, where students fetch it."""
        _require(self.api.release_assignment(assignment), f"publish {assignment} to the exchange")

    def collect(self, assignment: str) -> list[str]:
        """Copy the latest exchange submission of each student into submitted/; return their ids."""
        _require(self.api.collect(assignment, update=True), f"collect {assignment}")
        return sorted(p.parent.name for p in (self.root / "submitted").glob(f"*/{assignment}") if p.is_dir())

    def submit(self, assignment: str, student: str, folder: Path) -> Path:
        """Place a student's assignment folder (notebooks + descriptor) as nbgrader's submission."""
        target = self.root / "submitted" / student / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        return target

    def autograde(self, assignment: str, student: str, stack: Stack | None, home: Path | None = None) -> LiveScore:
        """nbgrader's autograde of the submission, then its live-stack points measured from this side
        on `stack`, the instructor's own record of the student's stack (None: there is none, and every
        live check scores 0). Never the descriptor in the submission (workshop/live_scores.py), which
        keeps its key in `home`, the student's own WORKSHOP_HOME (default: this one's)."""
        bwrap()  # before anything of the submission runs: no sandbox, no autograde
        os.environ[STACK_FOLDER] = str(stack.folder) if stack and stack.folder.is_dir() else ""
        os.environ[SCORED_OUTSIDE] = "1"
        try:
            _require(self.api.autograde(assignment, student, force=True, create=True), f"autograde {student}")
        finally:
            os.environ.pop(STACK_FOLDER, None)
            os.environ.pop(SCORED_OUTSIDE, None)
        return score_live(self, assignment, student, stack, home)

    def feedback(self, assignment: str, student: str) -> Path:
        _require(self.api.generate_feedback(assignment, student, force=True), f"feedback for {student}")
        return self.root / "feedback" / student / assignment

    def score(self, assignment: str, student: str) -> tuple[float, float]:
        """(score, max score) of a graded submission."""
        with Gradebook(self.db_url, self.config.CourseDirectory.course_id) as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return submission.score, submission.max_score


def _require(result: dict, what: str) -> None:
    """Raise, the error's own last line first (a class run shows each failure by its first line)."""
    if not result.get("success"):
        error = result.get("error", "").strip()
        cause = error.splitlines()[-1] if error else "nbgrader gave no error"
        raise RuntimeError(f"nbgrader could not {what}: {cause}\n{result.get('log', '')}\n{error}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["release"]:
        print("usage: python -m workshop.course release", file=sys.stderr)
        return 2
    scratch = ROOT / "build" / "release-course"
    names = Course(scratch, release_directory=ROOT / "exercises").release()
    shutil.rmtree(scratch)
    print(f"released {', '.join(names)} into exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
