"""Live-stack points come from the instructor's side: a graded cell under autograde probes
nothing and prints its answers; the instructor's process reads the checks from its own copy of
the notebook, runs them on its own record of the stack and scores the cell in the gradebook.
The dishonest paths: a notebook that patches `grader`, a forged answers line, a descriptor
naming somebody else's machines."""

import json

import nbformat
import pytest

import grader
from grader.graded_cells import ANSWERS, SCORED_OUTSIDE, answers_line, checks_of, graded_cells, printed_answers
from grader.target import Target
from tests.conftest import HOST_KEY
from workshop.chapters import CHAPTERS, ROOT
from workshop.course import Course
from workshop.live_scores import descriptor_mismatch
from workshop.stack import DESCRIPTOR_NAME, InstanceRecord, Stack

CHAPTER = "01-getting-started"
NOTEBOOK = "first-vm.ipynb"


@pytest.mark.parametrize("chapter", [chapter.id for chapter in CHAPTERS])
def test_every_graded_cell_names_checks_the_registry_has_with_the_answers_they_need(chapter):
    cells = [cell for notebook in sorted((ROOT / "solutions" / chapter).glob("*.ipynb"))
             for cell in graded_cells(notebook)]
    assert cells, chapter
    for cell in cells:
        needed = {name for check in grader.checks_for(cell.chapter, cell.check_ids) for name in check.answers}
        assert cell.chapter == chapter and needed == set(cell.answers), cell


def test_a_graded_cell_with_computed_check_ids_is_refused():
    cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "c"}},
            "source": 'ids = ["instance-running"]\ngrader.assert_checks("01-getting-started", *ids)'}
    with pytest.raises(ValueError, match="literal chapter and check ids"):
        checks_of(cell)


def _printed(*lines: str) -> dict:
    return {"outputs": [{"output_type": "stream", "name": "stdout", "text": "".join(f"{line}\n" for line in lines)}]}


def test_the_answers_a_cell_printed_are_read_back_the_last_line_winning():
    assert printed_answers(_printed(answers_line({"os_name": "Debian"}))) == {"os_name": "Debian"}
    assert printed_answers(_printed(answers_line({"x": 1}), answers_line({"x": 2}))) == {"x": 2}
    assert printed_answers(_printed(ANSWERS + "not json", "os_name = Debian")) == {}
    assert printed_answers({"outputs": [{"output_type": "stream", "name": "stderr",
                                         "text": answers_line({"x": 1})}]}) == {}


def test_under_the_courses_autograde_assert_checks_probes_nothing_and_prints_its_answers(monkeypatch, capsys,
                                                                                          tmp_path):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv(SCORED_OUTSIDE, "1")
    monkeypatch.setattr(Target, "from_folder", lambda folder: pytest.fail("probed inside the student's kernel"))
    assert grader.assert_checks(CHAPTER, "os-expected", "os-name-answer", folder=str(tmp_path), os_name="X") == []
    assert printed_answers(_printed(capsys.readouterr().out)) == {"os_name": "X"}
    with pytest.raises(KeyError, match="no check nosuch"):
        grader.assert_checks(CHAPTER, "nosuch")


def test_a_bare_nbgrader_autograde_still_probes_in_the_kernel(monkeypatch, tmp_path):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv(SCORED_OUTSIDE, raising=False)
    with pytest.raises(AssertionError, match="no stack found"):
        grader.assert_checks(CHAPTER, "instance-running", folder=str(tmp_path))


def _stack(name: str, ssh_port: int = 2222) -> Stack:
    record = InstanceRecord("web1", "web", "10.213.5.21", "127.0.0.1", {"22": ssh_port, "80": 8080}, f"ws-{name}-web1",
                            HOST_KEY)
    return Stack(name, "local", "root", "", {}, {"web1": record})


def _submission(tmp_path, stack: Stack):
    (tmp_path / DESCRIPTOR_NAME).write_text(json.dumps(stack.to_dict()))
    return tmp_path


def test_a_descriptor_naming_other_machines_than_the_instructors_record_is_flagged(tmp_path):
    mine = _stack("fall-alice")
    assert descriptor_mismatch(_submission(tmp_path, mine), mine) == ""
    assert "names stack 'fall-bob', not 'fall-alice'" in descriptor_mismatch(_submission(tmp_path, _stack("fall-bob")),
                                                                            mine)
    moved = descriptor_mismatch(_submission(tmp_path, _stack("fall-alice", ssh_port=2223)), mine)
    assert "differs from the instructor's record for web1" in moved
    (tmp_path / DESCRIPTOR_NAME).write_text('{"name": "x;id"}')
    assert descriptor_mismatch(tmp_path, mine).startswith("the submission's invalid descriptor")


def test_a_classroom_servers_student_copy_of_the_stack_is_not_flagged_against_their_own_home(tmp_path):
    """`workshop class hub` gives the student a copy of the stack whose key is in ~/workshop; the
    descriptor beside their notebooks names that key, which is theirs, not a forgery."""
    own_home = tmp_path / "home/fall-alice/workshop"
    copy = Stack.from_dict({**_stack("fall-alice").to_dict(),
                            "ssh_key": str(own_home / "stacks/fall-alice/id_ed25519")}, own_home)
    (tmp_path / "submitted").mkdir()
    submitted = _submission(tmp_path / "submitted", copy)
    mine = _stack("fall-alice")
    assert descriptor_mismatch(submitted, mine, own_home) == ""
    assert "is not in the stack's own folder" in descriptor_mismatch(submitted, mine, tmp_path / "instructor")


@pytest.fixture(scope="module")
def course(tmp_path_factory, one_alembic_process):
    course = Course(tmp_path_factory.mktemp("course"))
    course.release([CHAPTER])
    return course


def _patched_notebook(course: Course, folder, patch: str):
    """The released chapter 01 notebook with every answer cell replaced by `patch`."""
    notebook = nbformat.read(course.root / "release" / CHAPTER / NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = patch
    folder.mkdir()
    nbformat.write(notebook, folder / NOTEBOOK)
    return folder


def test_a_notebook_that_patches_the_grader_gets_no_live_points(course, tmp_path):
    cheat = "import grader\ngrader.assert_checks = lambda *a, **k: []\nos_name = 'Debian GNU/Linux 12 (bookworm)'"
    folder = _patched_notebook(course, tmp_path / "cheat", cheat)
    course.submit(CHAPTER, "mallory", folder)
    live = course.autograde(CHAPTER, "mallory", None)
    assert course.score(CHAPTER, "mallory") == (0, 6)
    assert live.failed_cells == ["check-web1-running", "check-os-name"]
    feedback = (course.feedback(CHAPTER, "mallory") / "first-vm.html").read_text()
    assert "Probed from the instructor&#39;s side" in feedback or "Probed from the instructor's side" in feedback
    assert "the instructor has no record of this student" in feedback
    assert "printed no answers for the instructor" in feedback


def test_a_forged_answers_line_is_only_a_claim_the_instructors_checks_judge(course, tmp_path, monkeypatch):
    forged = f"import grader\ngrader.assert_checks = lambda *a, **k: print({answers_line({'os_name': 'x'})!r})"
    folder = _patched_notebook(course, tmp_path / "forged", forged)
    course.submit(CHAPTER, "mallory", folder)
    seen = []
    real = grader.run_checks

    def recording(chapter, target, ids, answers):
        seen.append((ids, answers))
        return real(chapter, target, ids, answers)

    monkeypatch.setattr(grader, "run_checks", recording)
    course.autograde(CHAPTER, "mallory", None)
    assert seen == [(("instance-running", "ssh-key-login"), {"os_name": "x"}),
                    (("os-expected", "os-name-answer"), {"os_name": "x"})]
    assert course.score(CHAPTER, "mallory") == (0, 6)


def test_a_deleted_graded_cell_scores_zero_and_the_others_are_still_graded(course, tmp_path):
    notebook = nbformat.read(course.root / "release" / CHAPTER / NOTEBOOK, as_version=4)
    notebook.cells = [cell for cell in notebook.cells
                      if cell.metadata.get("nbgrader", {}).get("grade_id") != "check-os-name"]
    (tmp_path / "trimmed").mkdir()
    nbformat.write(notebook, tmp_path / "trimmed" / NOTEBOOK)
    course.submit(CHAPTER, "trent", tmp_path / "trimmed")
    live = course.autograde(CHAPTER, "trent", None)
    assert live.failed_cells == ["check-web1-running", "check-os-name"]
    assert "missing from the submitted notebook" in live.results["check-os-name"][0].hints[0]
    assert course.score(CHAPTER, "trent") == (0, 6)
