"""The `workshop` command: help for every verb, clear errors for missing stacks
(tests/unit/test_cli_bad_input.py runs the table of bad inputs)."""

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


@pytest.mark.parametrize("verb", [["status"], ["ssh", "web1"], ["export"]])
def test_verbs_on_a_stack_that_does_not_exist_say_how_to_start_one(verb, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_STACK", "nothere")
    assert main(verb) == 2
    assert capsys.readouterr().err == (
        "workshop: There is no stack 'nothere' on this machine; start one with `workshop up`\n")


def test_python_dash_m_workshop_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "workshop", "check", "99"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("workshop: No chapter 99: choose from")
