"""Real stacks for end-to-end tests: uniquely named, always torn down, verified empty.

A machine may still hold containers from an earlier run: every name here
carries a random suffix, and teardown removes only what carries this
stack's label.

The chapter modules from test_02 on share one stack that advances through the
course (`course_stack`), as a student's does, and the full-course module grades,
at the end, the folders they worked through on it (`worked_folders`); the others
(chapter 01, catch-up, the classroom, the lessons) each start from an empty stack
of their own (`stack_name`).

The stacks run on podman. With WORKSHOP_E2E_ENGINES=podman,docker (`make test`'s
default), the modules of chapter 01 and catch-up (catch-up 10 from an empty stack)
run once more on docker (each of their tests gets an engine parameter), and
test_first_chapters works chapters 01-05 through on a docker stack.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from tests.e2e.coursework import assert_every_report_full_marks, work_through
from workshop.catchup import catch_up
from workshop.chapters import find_chapter
from workshop.course import Course
from workshop.engine import find_engine
from workshop.image import ensure_image
from workshop.lab import Lab, open_lab
from workshop.providers import get_provider
from workshop.stack import load_named


@pytest.fixture(scope="session")
def workshop_home(tmp_path_factory):
    """Stacks' keys and descriptors live in a scratch WORKSHOP_HOME, seen by kernels too."""
    home = tmp_path_factory.mktemp("workshop-home")
    previous = os.environ.get("WORKSHOP_HOME")
    os.environ["WORKSHOP_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("WORKSHOP_HOME", None)
    else:
        os.environ["WORKSHOP_HOME"] = previous


@pytest.fixture(scope="session")
def workshop_image():
    """Build the image once per run if its definition changed (cached otherwise)."""
    return ensure_image(find_engine())


#: Which modules run on an engine other than podman: those with a stack of their own
#: (`stack_name`); the chapter modules share one podman stack.
ENGINE_MODULES = {"docker": re.compile(r"test_(01_|catch_up|first_chapters)")}
#: Modules whose work the chapter modules do on podman already: they run on the others only.
OTHER_ENGINES_ONLY = re.compile(r"test_first_chapters")


def module_engines(module: str) -> list[str]:
    """The engines WORKSHOP_E2E_ENGINES asks for that run the test module called `module`."""
    wanted = [name.strip() for name in os.environ.get("WORKSHOP_E2E_ENGINES", "podman").split(",") if name.strip()]
    unknown = set(wanted) - {"podman", *ENGINE_MODULES}
    if unknown:
        raise pytest.UsageError(f"WORKSHOP_E2E_ENGINES lists {', '.join(sorted(unknown))}: use podman and/or docker")
    if OTHER_ENGINES_ONLY.match(module):
        return [name for name in wanted if name != "podman" and ENGINE_MODULES[name].match(module)]
    return [name for name in wanted if name == "podman" or ENGINE_MODULES[name].match(module)]


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        engines = module_engines(metafunc.module.__name__.rsplit(".", 1)[-1])
        if not engines:
            skip = pytest.mark.skip(reason="runs on the engines other than podman, and WORKSHOP_E2E_ENGINES names none")
            metafunc.parametrize("engine", [pytest.param(None, marks=skip)], indirect=True, scope="module")
        elif engines != ["podman"]:
            metafunc.parametrize("engine", engines, indirect=True, scope="module")


@pytest.fixture(scope="module")
def engine(request):
    """The engine this module's stack runs on, exported as WORKSHOP_ENGINE (kernels inherit it) with its image."""
    name = getattr(request, "param", None)
    if name is None:
        yield os.environ.get("WORKSHOP_ENGINE", "podman")
        return
    previous = os.environ.get("WORKSHOP_ENGINE")
    os.environ["WORKSHOP_ENGINE"] = name
    try:
        ensure_image(find_engine())
        yield name
    finally:
        if previous is None:
            os.environ.pop("WORKSHOP_ENGINE", None)
        else:
            os.environ["WORKSHOP_ENGINE"] = previous


def unique_stack_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def tear_down(name: str) -> None:
    """Remove the stack `name` whatever state it is in, then prove nothing is left."""
    stack = load_named(name)
    if stack is None:
        return
    provider = get_provider(stack.provider)
    try:
        Lab(stack, provider, stack.folder).down()
    finally:
        assert provider.leftovers(stack) == [], f"stack {name} left resources behind"
        assert not stack.folder.exists(), f"stack {name} left its key folder {stack.folder}"


@pytest.fixture(scope="module")
def stack_name(workshop_home, workshop_image, engine):
    """A unique stack name for this test module, exported as WORKSHOP_STACK; torn down after it."""
    name = unique_stack_name("e2e")
    os.environ["WORKSHOP_STACK"] = name
    yield name
    os.environ.pop("WORKSHOP_STACK", None)
    tear_down(name)


@pytest.fixture(scope="session")
def course_stack_name(workshop_home, workshop_image):
    """The stack the chapter modules share, torn down at the end of the session."""
    name = unique_stack_name("e2e-course")
    yield name
    tear_down(name)


@pytest.fixture(scope="module")
def course_stack(course_stack_name, tmp_path_factory):
    """`course_stack(chapter)`: a lab on the shared stack, brought to the end of the chapter
    before `chapter` by the reference deploys, for the module to work through `chapter`.
    Catch-up is idempotent: on a stack an earlier module left there it only repairs what
    that module's broken-stack tests may have left; run alone, a module builds it all.
    WORKSHOP_STACK names the shared stack while the module runs (its notebooks use it)."""
    os.environ["WORKSHOP_STACK"] = course_stack_name

    def at_start_of(chapter: str) -> Lab:
        lab = open_lab(course_stack_name, folder=tmp_path_factory.mktemp("catch-up"))
        if find_chapter(chapter).number > 1:
            catch_up(lab, find_chapter(chapter).number - 1)
        return lab

    yield at_start_of
    os.environ.pop("WORKSHOP_STACK", None)


@pytest.fixture(scope="session")
def worked_folders() -> dict[str, Path]:
    """{chapter: student folder} of every chapter worked through on the shared stack so far."""
    return {}


@pytest.fixture(scope="module")
def lab(course_stack, request):
    """The shared stack at the start of the chapter module's CHAPTER."""
    return course_stack(request.module.CHAPTER)


@pytest.fixture(scope="module")
def folder(lab, tmp_path_factory, request, worked_folders):
    """A student's folder with the module's CHAPTER worked through (its solution notebooks,
    run on the shared stack), every check report they printed at full marks."""
    chapter = request.module.CHAPTER
    folder = tmp_path_factory.mktemp("student") / chapter
    assert_every_report_full_marks(chapter, work_through(chapter, folder))
    worked_folders[chapter] = folder
    return folder


@pytest.fixture(scope="module")
def course(request, tmp_path_factory):
    """An nbgrader course with the test module's CHAPTER released."""
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([request.module.CHAPTER])
    return course
