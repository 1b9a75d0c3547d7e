"""What a student and an instructor do with a chapter, for end-to-end tests:
work through the solution notebooks, submit, autograde, read the feedback."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import grader
import pytest

from tests.conftest import cell_text, execute_notebook
from workshop import configs
from workshop.chapters import find_chapter
from workshop.course import Course
from workshop.deploy import pgpool
from workshop.errors import ConfigError
from workshop.lab import Lab
from workshop.stack import Stack, default_stack_name, load_named


def work_through(chapter: str, folder: Path) -> str:
    """Run the chapter's solution notebooks in `folder` (as the student would, on the
    stack named by WORKSHOP_STACK); return everything they printed."""
    folder.mkdir(parents=True, exist_ok=True)
    if find_chapter(chapter).number >= 5:
        keep_a_chapter_04_fabfile_beside(folder)
    printed = []
    for notebook in find_chapter(chapter).assignment_notebooks():
        shutil.copy(notebook, folder)
        printed.append(cell_text(execute_notebook(folder / notebook.name)))
    return "\n".join(printed)


def keep_a_chapter_04_fabfile_beside(folder: Path) -> None:
    """From chapter 05 on the web servers are deployed with the student's chapter 04 fabfile,
    from the folder beside `folder`: where no chapter 04 was worked through there, the one its
    solution writes (configs/fabric/fabfile.py: tests/unit/test_notebooks.py keeps them equal)."""
    own = folder.parent / find_chapter(4).id / "fabfile.py"
    if not own.is_file():
        own.parent.mkdir(exist_ok=True)
        shutil.copy(configs.path("fabric/fabfile.py"), own)


def assert_every_report_full_marks(chapter: str, printed: str) -> None:
    """The check reports the notebooks printed (one per graded cell) all show full marks."""
    reports = re.findall(rf"Chapter {re.escape(chapter)}: (\d+)/(\d+) points", printed)
    assert reports and all(earned == possible for earned, possible in reports), printed[-3000:]


def max_points(chapter: str) -> int:
    return sum(check.points for check in grader.checks_for(chapter))


def instructors_record() -> Stack | None:
    """The stack this test module runs (WORKSHOP_STACK): the grading instructor's record of it."""
    return load_named(default_stack_name())


def grade(course: Course, chapter: str, student: str, folder: Path, stack: Stack | None) -> tuple[float, float]:
    """Submit `folder` and autograde it, its live-stack checks probed on `stack` (the instructor's record)."""
    course.submit(chapter, student, folder)
    course.autograde(chapter, student, stack)
    return course.score(chapter, student)


def grade_unmodified_release(course: Course, chapter: str, scratch: Path) -> tuple[tuple[float, float], str]:
    """Autograde the release as handed out (no stack, no answers) from a student of whose stack
    the instructor has no record: (score, feedback HTML)."""
    folder = scratch / f"blank-{chapter}"
    shutil.copytree(course.root / "release" / chapter, folder)
    score = grade(course, chapter, "blank", folder, None)
    feedback = course.feedback(chapter, "blank")
    return score, "\n".join(page.read_text() for page in sorted(feedback.glob("*.html")))


def assert_full_marks_and_blank_zero(course: Course, chapter: str, folder: Path, scratch: Path) -> None:
    """The worked `folder` autogrades to full marks; the release as handed out (`course`
    has released `chapter`), to zero with the "no stack found" hint in its feedback."""
    assert grade(course, chapter, "alice", folder, instructors_record()) == (max_points(chapter), max_points(chapter))
    score, feedback = grade_unmodified_release(course, chapter, scratch)
    assert score == (0, max_points(chapter)) and "no stack found" in feedback


def as_students(course_answer: str) -> str:
    """The course's answer to an exercise as the solution writes it: without the first line that
    marks it as the course's own (which earns nothing, grader/course_answers.py)."""
    first, _, rest = course_answer.partition("\n")
    assert first.startswith(configs.COURSE_ANSWER), first
    return rest


def failing_hints(folder: Path, chapter: str, check_id: str, **answers) -> str:
    """The hints of a check that must fail on the stack of the notebook in `folder`."""
    with pytest.raises(AssertionError) as failure:
        grader.assert_checks(chapter, check_id, folder=str(folder), **answers)
    return str(failure.value)


@contextmanager
def configured(install, broken: str, reference: str):
    """`install(broken)` for the duration of a `with`, then `install(reference)` again,
    whatever happened inside (a failed assertion included)."""
    install(broken)
    try:
        yield
    finally:
        install(reference)


def reconfigure_pgpool(lab: Lab, conf: str | None = None, pool_hba: str | None = None) -> None:
    """Reconfigure pgpool1 (chapters 07 and 08 break it): `conf`, else the reference pgpool.conf
    over the database servers the stack has; `pool_hba`, else the one installed (the student's)."""
    backends = tuple(name for name in ("db1", "db2") if name in lab.stack.instances)
    pgpool.configure_pgpool(lab, lab.instance("pgpool1"), conf or pgpool.reference_pgpool_conf(lab, backends=backends),
                            pool_hba)


def assert_rejected_and_kept(install, host, path: str, broken: str, message: str) -> None:
    """`install(broken)` raises ConfigError matching `message` (the service's checker
    said no), and the file at `path` on `host` is still the one it replaced."""
    before = host.run(f"cat {path}", readonly=True).stdout
    with pytest.raises(ConfigError, match=message):
        install(broken)
    assert host.run(f"cat {path}", readonly=True).stdout == before
