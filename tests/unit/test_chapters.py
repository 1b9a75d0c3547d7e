"""Every chapter of the registry (workshop/chapters.py) has all its parts, named after it,
and nothing in the course belongs to a chapter the registry does not know.

What a new chapter costs: one `Chapter(NN, "slug", "Title")` entry, then, with
NAME the slug underscored:

    notebooks/NN-slug.ipynb          the lesson, headed "# NN · Title"
    solutions/NN-slug/*.ipynb        the exercises with their solutions (then `make release`:
    exercises/NN-slug/*.ipynb        the student versions are generated; test_notebooks.py
                                     keeps them in sync)
    grader/NAME.py                   its checks, @check("NN-slug", ...)
    workshop/catchup.py: NAME()      the reference deploy to the chapter's end state
    tests/e2e/test_NN_NAME.py        the chapter end to end on the shared course stack

(and `app_settings` in the entry if the chapter changes the app's settings, `machines`
if it adds machines to the stack).
"""

import json
import re
import subprocess
import sys

import pytest

import grader
from tests.conftest import ROOT
from workshop import catchup
from workshop.chapters import CHAPTERS, Chapter, chapter_ids, chapters_through, find_chapter, machines_through
from workshop.deploy import settings
from workshop.topology import PLAN


def missing_parts(chapter: Chapter) -> list[str]:
    """The files a registered chapter still lacks, relative to the repository."""
    parts = {
        f"notebooks/{chapter.id}.ipynb": chapter.lesson.is_file(),
        f"solutions/{chapter.id}/*.ipynb": bool(chapter.assignment_notebooks()),
        f"exercises/{chapter.id}/*.ipynb (`make release`)": bool(list(chapter.exercises.glob("*.ipynb"))),
        f"grader/{chapter.name}.py": (ROOT / "grader" / f"{chapter.name}.py").is_file(),
        f"def {chapter.name}(lab, progress, target) in workshop/catchup.py":
            callable(getattr(catchup, chapter.name, None)),
        f"tests/e2e/test_{chapter.number:02d}_{chapter.name}.py":
            (ROOT / "tests" / "e2e" / f"test_{chapter.number:02d}_{chapter.name}.py").is_file(),
    }
    return [part for part, present in parts.items() if not present]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_every_chapter_has_all_its_parts(chapter):
    missing = missing_parts(chapter)
    assert not missing, (f"chapter {chapter.id} is registered but lacks {', '.join(missing)}; "
                         "tests/unit/test_chapters.py lists a chapter's parts")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_the_lesson_is_headed_with_the_chapter_number_and_title(chapter):
    first_cell = "".join(json.loads(chapter.lesson.read_text())["cells"][0]["source"])
    assert first_cell.splitlines()[0] == f"# {chapter.number:02d} · {chapter.title}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_the_chapter_module_registers_the_chapters_checks(chapter):
    checks = grader.CHECKS.get(chapter.id, {})
    assert checks, f"{chapter.grader_module} registers no check under {chapter.id!r}"
    shared = {"grader.course_answers"}  # the probes every exercise with an answer file registers
    assert {item.probe.__module__ for item in checks.values()} - shared == {chapter.grader_module}


def test_no_check_belongs_to_an_unregistered_chapter():
    unknown = sorted(set(grader.CHECKS) - set(chapter_ids()))
    assert not unknown, f"checks registered for {unknown}: add the chapter to workshop/chapters.py or fix the id"


@pytest.mark.parametrize("folder", ["notebooks", "solutions", "exercises"])
def test_no_course_folder_holds_an_unregistered_chapter(folder):
    found = {p.name.removesuffix(".ipynb") for p in (ROOT / folder).iterdir() if p.suffix == ".ipynb" or p.is_dir()}
    assert found - {".ipynb_checkpoints"} == set(chapter_ids()), f"{folder}/ and workshop/chapters.py disagree"


def test_the_app_settings_of_a_chapter_name_a_function_of_the_settings_module():
    named = [chapter.app_settings for chapter in CHAPTERS if chapter.app_settings]
    assert named and all(callable(getattr(settings, name, None)) for name in named)


def test_chapters_are_numbered_in_order_with_distinct_hyphenated_slugs():
    assert [chapter.number for chapter in CHAPTERS] == list(range(1, len(CHAPTERS) + 1))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", chapter.slug) for chapter in CHAPTERS)
    assert len({chapter.slug for chapter in CHAPTERS}) == len(CHAPTERS)


@pytest.mark.parametrize("given", [3, "3", "03", "03-postgresql"])
def test_a_chapter_is_found_by_number_or_id(given):
    assert find_chapter(given).id == "03-postgresql"


def test_an_unknown_chapter_is_refused_with_the_list():
    with pytest.raises(ValueError, match="No chapter 42: choose from 01-getting-started, 02-mod-wsgi"):
        find_chapter("42")


def test_chapters_through_one_includes_it_and_every_earlier_one():
    assert [chapter.id for chapter in chapters_through("03-postgresql")] == chapter_ids()[:3]


def test_the_registry_and_the_grader_load_no_deploy_code():
    """Checks probe from outside: loading them (and the registry they name chapters by)
    must not load the reference deploys."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, grader; print(sorted(sys.modules))"],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "workshop.deploy" not in loaded and "workshop.catchup" not in loaded


def test_every_machine_of_the_topology_is_added_by_exactly_one_chapter():
    added = machines_through(CHAPTERS[-1].number)
    assert sorted(added) == sorted(PLAN), "the last chapter's stack is the whole topology"
    assert len(added) == len(set(added)), f"a machine is added twice: {added}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_the_machines_a_chapters_checks_judge_exist_by_its_end(chapter):
    """The stack diagram colours these machines by the chapter's checks: a chapter cannot
    judge a machine the stack does not have yet when the chapter is done."""
    assert set(chapter.judged_machines) <= set(machines_through(chapter.number))


def test_chapters_that_add_no_machine_judge_the_web_server_they_work_on():
    assert [find_chapter(n).judged_machines for n in (2, 4, 5, 10)] == [("web1",), ("web1",),
                                                                        ("media1", "web2", "lb1"), ()]
