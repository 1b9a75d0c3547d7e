"""While nbgrader validates, the graded cells of one notebook probe through one target (one SSH
connection per machine); outside grading each report starts afresh, as the stack may change."""

import json

import pytest

import grader
from grader.target import Target


@pytest.fixture
def opened(monkeypatch):
    """The folders a Target was made for (and closed), in order."""
    made, closed = [], []
    real = Target.from_folder

    def from_folder(folder):
        made.append(folder)
        return real(folder)

    monkeypatch.setattr(Target, "from_folder", from_folder)
    monkeypatch.setattr(Target, "close", lambda self: closed.append(self))
    monkeypatch.setattr(grader, "_GRADING_TARGETS", {})
    return made, closed


def report_twice(folder):
    for _ in range(2):
        with pytest.raises(AssertionError):
            grader.assert_checks("01-getting-started", "instance-running", folder=str(folder))


def test_graded_cells_of_a_notebook_share_one_target_while_grading(tmp_path, monkeypatch, opened):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    report_twice(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    report_twice(other)
    assert opened == ([tmp_path, other], [])


def test_a_changed_descriptor_gets_a_target_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    monkeypatch.setattr(grader, "_GRADING_TARGETS", {})
    monkeypatch.setattr(Target, "from_folder", lambda folder: object())
    descriptor = tmp_path / "workshop-stack.json"
    targets = []
    for name in ("one", "two", "two"):
        descriptor.write_text(json.dumps({"name": name}))
        targets.append(grader._target(tmp_path)[0])
    assert targets[0] is not targets[1] and targets[1] is targets[2]


def test_outside_grading_every_report_has_a_fresh_target_closed_after_it(tmp_path, monkeypatch, opened):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    report_twice(tmp_path)
    assert len(opened[0]) == 2 and len(opened[1]) == 2
