"""While nbgrader grades (NBGRADER_EXECUTION set), helpers change nothing and say so."""

import pytest

from tests.conftest import HOST_KEY

from workshop.errors import StackError
from workshop.lab import open_lab
from workshop.stack import InstanceRecord, Stack


@pytest.fixture
def graded_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    stack = Stack("graded", "local", "root", str(tmp_path / "home/stacks/graded/id_ed25519"), {}, {
        "web1": InstanceRecord("web1", "web", "10.213.9.21", "127.0.0.1", {"22": 1, "80": 2}, "ws-graded-web1",
                                       HOST_KEY),
    })
    stack.add_copy(tmp_path)
    stack.save()
    return tmp_path


def test_up_starts_nothing_and_returns_the_recorded_instance(graded_folder, capsys):
    lab = open_lab(folder=graded_folder)
    web1 = lab.up("web1")
    assert web1.private_ip == "10.213.9.21"
    assert "skipped 'lab.up('web1')'" in capsys.readouterr().out


def test_commands_that_may_change_the_machine_are_skipped(graded_folder, capsys):
    web1 = open_lab(folder=graded_folder).instance("web1")
    result = web1.run("apt-get install -y cowsay")
    assert result.skipped and result.exit_code is None
    assert "grading never changes the stack" in capsys.readouterr().out


def test_down_deletes_nothing(graded_folder, capsys):
    assert open_lab(folder=graded_folder).down() == []
    assert (graded_folder / "workshop-stack.json").exists()
    assert "skipped 'lab.down()'" in capsys.readouterr().out


def test_grading_never_creates_a_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    lab = open_lab(folder=tmp_path)
    assert lab.stack is None and not (tmp_path / "home").exists()
    with pytest.raises(StackError, match="run this notebook's first cell"):
        lab.instance("web1")


def test_outside_grading_open_lab_creates_a_key_and_a_descriptor_but_no_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    lab = open_lab("fresh", folder=tmp_path)
    assert lab.stack.instances == {}
    assert (tmp_path / "home" / "stacks" / "fresh" / "id_ed25519").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "workshop-stack.json").exists()
    with pytest.raises(ValueError, match="choose from"):
        lab.up("web9")
