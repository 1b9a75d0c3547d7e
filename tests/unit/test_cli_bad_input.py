"""Every bad input to the `workshop` command gets one clear line on stderr (the problem and
what to do), a non-zero exit and no traceback; and it leaves nothing behind: no stack made
by a typo, no file of the user's deleted. No machine starts: the container engine and the
per-student `workshop` processes are out of reach, so a row that got that far fails."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from workshop.cli import main
from workshop.lab import open_lab
from workshop.providers.local import LocalProvider

MACHINES = "choose from: varnish1, lb1, web1"
CHAPTERS = "choose from 01-getting-started, 02-mod-wsgi"


def a_stack(tmp: Path, monkeypatch) -> None:
    """A stack called lab, created but with no machine started (what `open_lab()` leaves)."""
    open_lab("lab", folder=tmp / "work")


def no_leftovers(tmp: Path, monkeypatch) -> None:
    monkeypatch.setattr(LocalProvider, "leftovers", lambda self, stack: [])


def a_file(tmp: Path, monkeypatch) -> None:
    (tmp / "work" / "afile").write_text("not a folder\n")


def a_stack_and_a_file(tmp: Path, monkeypatch) -> None:
    a_stack(tmp, monkeypatch)
    a_file(tmp, monkeypatch)


def a_stack_and_notes(tmp: Path, monkeypatch) -> None:
    a_stack(tmp, monkeypatch)
    (tmp / "work" / "notes").mkdir()
    (tmp / "work" / "notes" / "mine.txt").write_text("the student's own file\n")


def rosters(tmp: Path, monkeypatch) -> None:
    folder = tmp / "class"
    (folder / "good.csv").write_text("id,name\nalice,Alice\nbob,Bob\n")
    (folder / "dup.csv").write_text("id,name\nalice,Alice\nalice,Alicia\n")
    (folder / "header.csv").write_text("student name,email\nAlice,a@example.org\n")
    (folder / "latin1.csv").write_bytes("id,name\nzoe,Zoë\n".encode("latin-1"))
    (folder / "folder.csv").mkdir()
    (folder / "afile").write_text("not a folder\n")


def rosters_and_a_busy_port(tmp: Path, monkeypatch) -> socket.socket:
    """Something already listens on the port the live page asks for ({port} in the row)."""
    rosters(tmp, monkeypatch)
    return socket.create_server(("127.0.0.1", 0))


# (argv, environment, setup, what the one error line must say)
ROWS = {
    # chapters
    "check an unknown chapter number": (["check", "99"], {}, a_stack, f"No chapter 99: {CHAPTERS}"),
    "check a chapter that is not a number or id": (["check", "abc"], {}, a_stack, f"No chapter abc: {CHAPTERS}"),
    "catch-up to an unknown chapter": (["catch-up", "99"], {}, None, f"No chapter 99: {CHAPTERS}"),
    "catch-up without a chapter": (["catch-up"], {}, None, "the following arguments are required: chapter"),
    # machines
    "up an unknown machine": (["up", "nosuch"], {}, None, f"No machine called nosuch in the course; {MACHINES}"),
    "ssh to an unknown machine": (["ssh", "nosuch"], {}, a_stack, f"No machine called nosuch in the course; {MACHINES}"),
    "ssh to a machine not started": (["ssh", "web2"], {}, a_stack,
                                     "Stack 'lab' has no web2 yet: `workshop up web2` starts it"),
    "ssh without a machine": (["ssh"], {}, None, "the following arguments are required: name\n"),
    # stacks
    "check a stack that does not exist": (["--stack", "nothere", "check"], {}, a_stack,
                                          "There is no stack 'nothere' on this machine (stacks here: lab); "
                                          "start one with `workshop --stack nothere up`"),
    "check a WORKSHOP_STACK that does not exist": (["check", "1"], {"WORKSHOP_STACK": "nothere"}, None,
                                                   "There is no stack 'nothere' on this machine; "
                                                   "start one with `workshop up`"),
    "status of a stack that does not exist": (["--stack", "nothere", "status"], {}, None,
                                              "There is no stack 'nothere' on this machine"),
    "down a stack that does not exist": (["--stack", "nothere", "down", "-y"], {}, no_leftovers,
                                         "There is no stack 'nothere' on this machine"),
    "a stack name that cannot be used": (["status"], {"WORKSHOP_STACK": "Bad_Name"}, None,
                                         "Stack name 'Bad_Name' is not usable: use 1-31 lowercase letters"),
    "a WORKSHOP_HOME that cannot be written": (["up"], {"WORKSHOP_HOME": "afile/home"}, a_file,
                                               "Cannot write the stack's files (afile/home/stacks/lab: "
                                               "Not a directory): set WORKSHOP_HOME to a folder you can write"),
    "an unknown provider": (["up"], {"WORKSHOP_PROVIDER": "nope"}, None,
                            "Unknown provider 'nope' (WORKSHOP_PROVIDER); available here: local, ec2"),
    "an unknown verb": (["frob"], {}, None, "argument VERB: invalid choice: 'frob'"),
    # export
    "export to a folder that cannot be created": (["export", "--out", "afile/takehome"], {}, a_stack_and_a_file,
                                                  "(Not a directory): export to a folder you can write (--out)"),
    "export over a file": (["export", "--out", "afile"], {}, a_stack_and_a_file,
                           "afile already exists and is not an earlier take-home folder: export to a new folder"),
    "export over a folder of the student's own": (["export", "--out", "notes"], {}, a_stack_and_notes,
                                                  "notes already exists and is not an earlier take-home folder"),
    # the class roster
    "a roster that does not exist": (["class", "status", "../class/missing.csv"], {}, rosters,
                                     "Cannot read the roster ../class/missing.csv: No such file or directory"),
    "a roster that is a folder": (["class", "status", "../class/folder.csv"], {}, rosters,
                                  "Cannot read the roster ../class/folder.csv: Is a directory"),
    "a roster with a duplicate id": (["class", "status", "../class/dup.csv"], {}, rosters,
                                     "line 3: student id 'alice' already used on line 2"),
    "a roster without id and name columns": (["class", "status", "../class/header.csv"], {}, rosters,
                                             "the header has no id or name column"),
    "a roster that is not UTF-8": (["class", "status", "../class/latin1.csv"], {}, rosters,
                                   "is not UTF-8 text: save it as CSV (UTF-8)"),
    "a class step without a roster": (["class", "status"], {}, None, "the following arguments are required: roster"),
    # class options
    "class up with no stacks at a time": (["class", "up", "../class/good.csv", "--parallel", "0"], {}, rosters,
                                          "argument --parallel: 0 is out of range: give 1 or more"),
    "class down with no stacks at a time": (["class", "down", "../class/good.csv", "-y", "--parallel", "0"], {},
                                            rosters, "argument --parallel: 0 is out of range: give 1 or more"),
    "class up of an unknown machine": (["class", "up", "../class/good.csv", "--instances", "web1", "nosuch"], {},
                                       rosters, f"No machine called nosuch in the course; {MACHINES}"),
    "class up caught up to an unknown chapter": (["class", "up", "../class/good.csv", "--catch-up", "99"], {},
                                                 rosters, f"No chapter 99: {CHAPTERS}"),
    "class up into a folder that cannot be created": (["class", "up", "../class/good.csv", "--dir", "../class/afile/x"],
                                                      {}, rosters, "(Not a directory): choose a folder you can "
                                                                   "write with --dir"),
    "class grade with no workers": (["class", "grade", "../class/good.csv", "--workers", "0"], {}, rosters,
                                    "argument --workers: 0 is out of range: give 1 or more"),
    "class grade with workers that are not a number": (["class", "grade", "../class/good.csv", "--workers", "two"],
                                                       {}, rosters, "argument --workers: 'two' is not a number"),
    "class grade of a student not in the roster": (["class", "grade", "../class/good.csv", "--student", "zed"], {},
                                                   rosters, "No student 'zed' in the roster of class good: "
                                                            "its ids are alice, bob"),
    "class grade of an unknown assignment": (["class", "grade", "../class/good.csv", "99"], {}, rosters,
                                             f"No chapter 99: {CHAPTERS}"),
    "class collect of an unknown assignment": (["class", "collect", "../class/good.csv", "99-nope"], {}, rosters,
                                               f"No chapter 99-nope: {CHAPTERS}"),
    "class collect from a missing exchange": (["class", "collect", "../class/good.csv", "1", "--exchange",
                                               "../class/no-exchange"], {}, rosters,
                                              "no-exchange is missing or not writable: create it"),
    "class live on a port that does not exist": (["class", "live", "../class/good.csv", "--port", "99999"], {},
                                                 rosters, "argument --port: 99999 is out of range: give 1..65535"),
    "class live on a port in use": (["class", "live", "../class/good.csv", "--port", "{port}"], {},
                                    rosters_and_a_busy_port, "(Address already in use): choose another port with --port"),
    "class live polling without a pause": (["class", "live", "../class/good.csv", "--interval", "0"], {}, rosters,
                                           "argument --interval: 0 is out of range: give 1 or more"),
    "class live of an unknown chapter": (["class", "live", "../class/good.csv", "--chapters", "99"], {}, rosters,
                                         f"No chapter 99: {CHAPTERS}"),
}


def files_under(folder: Path) -> dict[str, bytes | None]:
    return {str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
            for path in sorted(folder.rglob("*"))}


def refuse(*args, **kwargs):
    raise AssertionError(f"a bad input got as far as starting something: {args}")


@pytest.mark.parametrize("argv, env, setup, says", ROWS.values(), ids=ROWS.keys())
def test_a_bad_input_gets_one_line_that_says_what_to_do(argv, env, setup, says, tmp_path, monkeypatch, capsys,
                                                           request):
    for folder in ("home", "work", "class"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    for name in ("WORKSHOP_STACK", "WORKSHOP_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("workshop.providers.local.find_engine", refuse)
    monkeypatch.setattr("workshop.classroom.provision.run_workshop", refuse)
    listener = setup(tmp_path, monkeypatch) if setup else None
    if listener:
        request.addfinalizer(listener.close)
        argv = [arg.format(port=listener.getsockname()[1]) for arg in argv]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = files_under(tmp_path / "home"), files_under(tmp_path / "work")
    capsys.readouterr()

    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code

    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert "Traceback" not in err
    problem = [line for line in err.splitlines() if line.startswith("workshop")]
    rest = [line for line in err.splitlines() if not line.startswith(("workshop", "usage: ", " "))]
    assert len(problem) == 1 and not rest, err
    assert says in err, err
    assert (files_under(tmp_path / "home"), files_under(tmp_path / "work")) == before
