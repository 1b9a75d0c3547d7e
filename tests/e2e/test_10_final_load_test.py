"""Chapter 10 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and a final load test that skipped Varnish
is caught."""

from __future__ import annotations

import json

import pytest

from tests.e2e.coursework import (assert_every_report_full_marks, assert_full_marks_and_blank_zero, failing_hints,
                                  work_through)
from workshop import loadtest
from workshop.lab import open_lab

pytestmark = pytest.mark.e2e
CHAPTER = "10-final-load-test"


@pytest.fixture(scope="module")
def folder(lab, tmp_path_factory):
    """The chapter worked through: its notebook prints the ratio the student answers with."""
    folder = tmp_path_factory.mktemp("student") / CHAPTER
    printed = work_through(CHAPTER, folder)
    assert_every_report_full_marks(CHAPTER, printed)
    assert "final / baseline = " in printed
    return folder


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_a_final_load_test_that_skipped_varnish_is_caught(folder, lab, tmp_path):
    elsewhere = open_lab(lab.stack.name, folder=tmp_path)
    loadtest.run(elsewhere, "10-final", lab.instance("lb1"))
    assert "not varnish1" in failing_hints(tmp_path, CHAPTER, "final-load-test")


@pytest.mark.parametrize("edit, hint", [
    (lambda final: {**final, "throughput_rps": final["throughput_rps"] * 3}, "does not add up"),
    (lambda final: {**final, "requests": final["requests"] * 1000,
                    "throughput_rps": final["requests"] * 1000 / final["duration_s"]}, "varnish1 counted"),
])
def test_an_edited_final_load_test_record_is_caught(folder, tmp_path, edit, hint):
    """The final the solution recorded, edited beside a copy of the notebook's descriptor."""
    (tmp_path / "workshop-stack.json").write_text((folder / "workshop-stack.json").read_text())
    record = folder / "loadtest-10-final.json"
    (tmp_path / record.name).write_text(json.dumps(edit(json.loads(record.read_text()))))
    assert hint in failing_hints(tmp_path, CHAPTER, "final-load-test")
