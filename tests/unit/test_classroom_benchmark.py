"""The class benchmark's sizing and summary (benchmarks/classroom.py); its run needs machines."""

import json

import pytest

from benchmarks.classroom import (COMPLETE, EARLY, MIDDLE, UNREACHABLE, autograded_check_times, class_stages,
                                  handed_in, machines_needed, memory_shortfall, slowest_checks)
from grader.report import CheckTime


@pytest.mark.parametrize("students, expected", [
    (1, [EARLY]),
    (3, [COMPLETE, MIDDLE, EARLY]),
    (4, [COMPLETE, MIDDLE, EARLY, UNREACHABLE]),
    (6, [COMPLETE, MIDDLE, MIDDLE, EARLY, EARLY, UNREACHABLE]),
])
def test_a_class_mixes_stages_and_has_one_stack_down(students, expected):
    assert class_stages(students) == expected


def test_thirty_students_are_a_sixth_complete_a_third_at_05_one_unreachable():
    stages = class_stages(30)
    assert (stages.count(COMPLETE), stages.count(MIDDLE), stages.count(EARLY), stages.count(UNREACHABLE)) == \
        (5, 10, 14, 1)
    assert machines_needed(stages) == 5 * 10 + 10 * 5 + 15


def test_a_class_that_does_not_fit_in_memory_is_refused_with_the_option_to_use():
    stages = class_stages(30)
    assert memory_shortfall(stages, 24 * 1024) is None
    assert "--students" in memory_shortfall(stages, 4 * 1024)


def test_students_hand_in_every_chapter_they_finished():
    assert handed_in(EARLY) == handed_in(UNREACHABLE) == [EARLY]
    assert handed_in(MIDDLE)[-1] == MIDDLE and len(handed_in(MIDDLE)) == 5
    assert len(handed_in(COMPLETE)) == 10


def test_the_slowest_checks_are_ranked_by_their_slowest_run():
    times = [CheckTime("08", "fail-over", 3.0), CheckTime("01", "ssh", 0.1), CheckTime("08", "fail-over", 5.0),
             CheckTime("06", "cache", 4.0)]
    assert slowest_checks(times, 2) == [("08", "fail-over", 5.0, 4.0, 2), ("06", "cache", 4.0, 4.0, 1)]


def test_check_times_are_read_from_every_autograded_notebook(tmp_path):
    notebook = tmp_path / "autograded" / "s01" / "01-getting-started" / "first-vm.ipynb"
    notebook.parent.mkdir(parents=True)
    report = ["Chapter 01-getting-started: 2/2 points\n", "  [PASS] web1 is running (2/2) in 0.4 s\n"]
    notebook.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "x"},
                                              {"cell_type": "code", "outputs": [{"name": "stdout", "text": report}]}]}))
    assert autograded_check_times(tmp_path) == [CheckTime("01-getting-started", "web1 is running", 0.4)]
