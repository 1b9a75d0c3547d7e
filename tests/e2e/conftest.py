"""Real stacks for end-to-end tests: uniquely named, always torn down, verified empty.

A machine may still hold containers from an earlier run: every name here
carries a random suffix, and teardown removes only what carries this
stack's label.

The chapter modules from test_02 on share one stack that advances through the
course (`course_stack`), as a student's does; the others (chapter 01, catch-up,
the full course, the classroom, the lessons) each start from an empty stack of
their own (`stack_name`).
"""

from __future__ import annotations

import os
import uuid

import pytest

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
def stack_name(workshop_home, workshop_image):
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
        catch_up(lab, find_chapter(chapter).number - 1)
        return lab

    yield at_start_of
    os.environ.pop("WORKSHOP_STACK", None)


@pytest.fixture(scope="module")
def course(request, tmp_path_factory):
    """An nbgrader course with the test module's CHAPTER released."""
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([request.module.CHAPTER])
    return course
