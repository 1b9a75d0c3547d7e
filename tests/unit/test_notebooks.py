"""Notebooks are stored clean, exercises/ is the current release of solutions/,
and the points of each graded cell are the points of the checks it runs."""

import ast
import json

import nbformat
import pytest

import grader
from tests.conftest import ROOT
from workshop.chapters import CHAPTERS, find_chapter
from workshop.course import Course

ALL_NOTEBOOKS = sorted(p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs before committing"


def _comparable(path):
    """A notebook's cells as released, ignoring formatting differences of the JSON."""
    notebook = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), c["metadata"].get("nbgrader")) for c in notebook["cells"]]


def test_exercises_are_the_current_release_of_solutions(tmp_path, one_alembic_process):
    release = tmp_path / "release"
    Course(tmp_path / "course", release_directory=release).release()
    fresh = sorted(p.relative_to(release) for p in release.rglob("*.ipynb"))
    committed = sorted(p.relative_to(ROOT / "exercises") for p in (ROOT / "exercises").rglob("*.ipynb"))
    assert committed == fresh, "exercises/ is out of date: run `make release`"
    for relative in fresh:
        assert _comparable(ROOT / "exercises" / relative) == _comparable(release / relative), (
            f"exercises/{relative} is out of date with solutions/: run `make release`")


def _graded_cells(path):
    notebook = nbformat.read(path, as_version=4)
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _checks_called(source: str) -> tuple[str, list[str]]:
    """The chapter and check ids of the grader.assert_checks(...) call in a test cell."""
    call = next(node for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "assert_checks")
    chapter, *ids = [arg.value for arg in call.args]
    return chapter, ids


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_each_graded_cell_is_worth_the_points_of_its_checks(chapter):
    used = set()
    for path in chapter.assignment_notebooks():
        for cell in _graded_cells(path):
            called, ids = _checks_called(cell.source)
            assert called == chapter.id
            assert ids, "name the checks a cell grades, so points stay explicit"
            checks = grader.checks_for(called, tuple(ids))
            assert cell.metadata.nbgrader.points == sum(c.points for c in checks), cell.metadata.nbgrader.grade_id
            used.update(ids)
    assert used == set(grader.CHECKS[chapter.id]), "every check of the chapter is graded exactly in some cell"


def test_the_fabfile_of_the_solution_is_the_reference_fabfile():
    """One source: the solution cell writes exactly configs/fabric/fabfile.py."""
    notebook = nbformat.read(find_chapter("04-fabric").solutions / "deploy-with-fabric.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.source.startswith("%%writefile fabfile.py"))
    body = [line for line in cell.source.splitlines()[1:] if "### BEGIN SOLUTION" not in line
            and "### END SOLUTION" not in line]
    assert "\n".join(body) + "\n" == (ROOT / "configs" / "fabric" / "fabfile.py").read_text()


#: The answer cell of each exercise whose answer is a course config, and the variable it sets.
ANSWER_CELLS = {"02-mod-wsgi/02a-deploy-mod-wsgi.ipynb": ("vhost", "vhost"),
                "03-postgresql/deploy-postgresql.ipynb": ("pg-hba", "hba"),
                "05-load-balancing/05a-deploy-multiple-web-servers.ipynb": ("lb-config", "lb_config"),
                "06-caching/06a-deploy-multiple-cache-servers.ipynb": ("caches", "caches"),
                "07-pgpool/07a-deploy-pgpool.ipynb": ("pool-hba", "pool_hba"),
                "08-replication/08a-configure-a-standby.ipynb": ("clone", "clone"),
                "09-varnish/09a-add-a-varnish.ipynb": ("vcl", "vcl")}


@pytest.mark.parametrize("notebook", sorted(ANSWER_CELLS))
def test_the_solutions_answer_is_the_course_answer_without_its_first_line(notebook, tmp_path, monkeypatch):
    """What catch-up installs and what the solution writes differ by the course's mark only, so the
    end-to-end tests can put back the solution's answer from the reference (tests/e2e/coursework.py).
    06a's answer is a dict: the course's file sets the same CACHES."""
    from workshop.cache_settings import parse_caches
    from workshop.deploy import apache, media, memcached, nginx, pgpool, postgres, replication, varnish
    from workshop.lab import Lab
    from workshop.stack import Stack

    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    stack = Stack("s", "local", "root", str(tmp_path / "id"), {"subnet": "10.213.5.0/24"}, {})
    stack.folder.mkdir(parents=True, exist_ok=True)
    lab = Lab(stack, None, tmp_path)
    grade_id, variable = ANSWER_CELLS[notebook]
    cell = next(c for c in nbformat.read(ROOT / "solutions" / notebook, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    answer = {"lab": lab, "media": media, "print": lambda *args, **kwargs: None}
    exec(cell.source, answer)
    course = {"vhost": apache.reference_vhost, "lb_config": lambda: nginx.reference_lb_config(lab),
              "hba": lambda: postgres.reference_hba(lab, marks=(postgres.ANSWER_TO_03,)),
              "pool_hba": lambda: pgpool.reference_pool_hba(lab),
              "clone": lambda: replication.clone_script(lab, "db2", "db1"),
              "caches": lambda: memcached.reference_cache_settings(lab),
              "vcl": lambda: varnish.reference_vcl(lab)}[variable]()
    if variable == "caches":
        assert answer[variable] == parse_caches(course)
    else:
        assert answer[variable] == course.partition("\n")[2]
