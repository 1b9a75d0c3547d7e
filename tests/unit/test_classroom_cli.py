"""`workshop class ...` from a terminal: every step is listed, a bad roster is one clear
error, and status of a class that was never provisioned says so."""

import pytest

from workshop.classroom.capacity import inotify_needed, inotify_shortfall
from workshop.classroom.layout import Classroom
from workshop.classroom.provision import down, up
from workshop.cli import main


def test_class_help_lists_every_step(capsys):
    with pytest.raises(SystemExit):
        main(["class", "--help"])
    text = capsys.readouterr().out
    for step in ("up", "status", "release", "collect", "grade", "live", "down"):
        assert f"    {step} " in text


def test_a_bad_roster_is_reported_before_anything_starts(tmp_path, capsys):
    roster = tmp_path / "fall.csv"
    roster.write_text("id,name\nalice,\n")
    assert main(["class", "up", str(roster)]) == 2
    assert "fall.csv has 1 problem(s):\n  line 2: student alice has no name" in capsys.readouterr().err
    assert not (tmp_path / "fall-class").exists()


def test_status_of_a_class_never_provisioned_shows_every_student_without_a_stack(tmp_path, capsys):
    roster = tmp_path / "fall.csv"
    roster.write_text("id,name,public_key,address\nalice,Alice Martin,,192.0.2.10\nbob,Bob Chen,,\n")
    assert main(["class", "status", str(roster)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["student", "name", "stack", "provider", "machines", "ssh", "address"]
    assert out[2].split() == ["alice", "Alice", "Martin", "fall-alice", "-", "not", "created", "-", "192.0.2.10"]
    assert out[3].split()[:4] == ["bob", "Bob", "Chen", "fall-bob"]


def test_grading_with_nothing_collected_says_to_collect_first(tmp_path, capsys):
    roster = tmp_path / "fall.csv"
    roster.write_text("id,name\nalice,Alice\n")
    assert main(["class", "grade", str(roster)]) == 1
    assert "`workshop class collect` first" in capsys.readouterr().err


def test_a_classroom_server_whose_inotify_limit_cannot_boot_the_class_is_told_how_to_raise_it(tmp_path):
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    warning = inotify_shortfall(30, limit)
    assert warning.startswith("fs.inotify.max_user_instances is 128: about 21 local machines can boot here, "
                              "30 full stacks need 300")
    assert f"sysctl -w fs.inotify.max_user_instances={inotify_needed(30)}" in warning
    limit.write_text(f"{inotify_needed(30)}\n")
    assert inotify_shortfall(30, limit) is None
    assert inotify_shortfall(30, tmp_path / "absent") is None


def test_class_up_and_down_do_nothing_while_nbgrader_grades(tmp_path, monkeypatch, capsys):
    roster = tmp_path / "fall.csv"
    roster.write_text("id,name\nalice,Alice\n")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    classroom = Classroom.open(roster)
    assert up(classroom) == [] and down(classroom) == []
    assert not classroom.folder.exists()
    assert "nbgrader autograde: skipped 'class fall up'" in capsys.readouterr().out
