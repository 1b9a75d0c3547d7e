"""The `workshop` command: help for every verb, clear errors for missing stacks."""

import subprocess
import sys

import pytest

from workshop.cli import build_parser, main


def test_help_lists_every_verb():
    text = build_parser().format_help()
    for verb in ("up", "status", "ssh", "check", "image", "down"):
        assert verb in text


def test_the_console_script_answers_help():
    result = subprocess.run([sys.executable, "-m", "workshop.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "workshop" in result.stdout


@pytest.mark.parametrize("verb", [["status"], ["ssh", "web1"]])
def test_verbs_on_a_stack_that_does_not_exist_say_how_to_start_one(verb, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    assert main(["--stack", "nothere", *verb]) == 2
    assert "There is no stack 'nothere' on this machine; start one with `workshop up`" in capsys.readouterr().err


def test_check_of_a_missing_stack_fails_with_hints(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    assert main(["--stack", "nothere", "check", "01-getting-started"]) == 1
    assert "no stack found" in capsys.readouterr().out
