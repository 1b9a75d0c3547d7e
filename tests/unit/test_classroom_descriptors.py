"""A class run survives a malformed descriptor: in a class of three, the student whose
descriptor breaks a rule gets "invalid descriptor: <reason>", and the others are collected,
graded (grades.csv, feedback) and polled live as usual."""

import csv
import json
import socket
import zipfile

import pytest

from tests.conftest import HOST_KEY
from workshop.classroom.layout import Classroom
from workshop.classroom.live import poll_class
from workshop.cli import main
from workshop.course import Course
from workshop.stack import DESCRIPTOR_NAME, InstanceRecord, Stack

CHAPTER = "01-getting-started"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def honest_descriptor(classroom: Classroom, student_id: str) -> dict:
    """What `class up` writes for a student: the key in their own folder, loopback, a host key."""
    student = classroom.student(student_id)
    port = _closed_port()
    record = InstanceRecord("web1", "web", "10.213.5.21", "127.0.0.1", {"22": port, "80": port},
                            f"ws-{classroom.stack_name(student)}-web1", HOST_KEY)
    return Stack(classroom.stack_name(student), "local", "root", str(classroom.stack_folder(student) / "id_ed25519"),
                 {}, {"web1": record}).to_dict()


MALFORMED = {
    "ports as a list": lambda d, c: d["instances"]["web1"].update(ports=[22, 80]),
    "a host of 10.0.0.5": lambda d, c: d["instances"]["web1"].update(public_host="10.0.0.5"),
    "an empty host key": lambda d, c: d["instances"]["web1"].update(host_key=""),
    "the key of another student": lambda d, c: d.update(ssh_key=honest_descriptor(c, "bob")["ssh_key"]),
    "shell metacharacters in the name": lambda d, c: d.update(name="t1-alice;id"),
}
REASONS = {"ports as a list": "web1's ports are not a mapping of port numbers",
           "a host of 10.0.0.5": "web1's public host '10.0.0.5' is not this machine",
           "an empty host key": "web1 has no host key",
           "the key of another student": "is not in the stack's own folder",
           "shell metacharacters in the name": "the stack name 't1-alice;id' is not"}


@pytest.fixture
def classroom(tmp_path):
    roster = tmp_path / "t1.csv"
    roster.write_text("id,name\nalice,Alice\nbob,Bob\ncarol,Carol\n")
    return Classroom.open(roster, name="t1")


def place(classroom: Classroom, student_id: str, data: dict) -> None:
    folder = classroom.stack_folder(classroom.student(student_id))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stack.json").write_text(json.dumps(data))


@pytest.mark.parametrize("malformed", MALFORMED, ids=MALFORMED)
def test_the_live_view_reports_the_invalid_descriptor_and_polls_the_others(classroom, malformed):
    alice = honest_descriptor(classroom, "alice")
    MALFORMED[malformed](alice, classroom)
    place(classroom, "alice", alice)
    place(classroom, "bob", honest_descriptor(classroom, "bob"))
    alice_row, bob_row, carol_row = poll_class(classroom, [CHAPTER])["students"]
    assert alice_row["problem"].startswith("invalid descriptor: ") and REASONS[malformed] in alice_row["problem"]
    assert {r["hint"] for r in alice_row["results"][CHAPTER].values()} == {alice_row["problem"]}
    assert bob_row["problem"].startswith("no machine answers SSH")  # validated, then polled
    assert carol_row["problem"] == "no stack yet (workshop class up)"


def test_class_status_carries_on_past_an_invalid_descriptor(classroom, capsys):
    alice = honest_descriptor(classroom, "alice")
    alice["instances"]["web1"]["ports"] = [22]
    place(classroom, "alice", alice)
    roster = str(classroom.folder.parent / "t1.csv")
    assert main(["class", "status", roster]) == 0
    out = capsys.readouterr().out
    assert "invalid descriptor: web1's ports are not a mapping" in out and "carol" in out


def _zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)


def test_a_class_grade_run_gives_the_invalid_descriptor_its_reason_and_grades_the_others(classroom, tmp_path, capsys,
                                                                                          one_alembic_process):
    """alice's record (the instructor's descriptor of her stack) is broken, bob's stack is down, carol has no
    stack and submits a broken descriptor: each gets their reason, carol is graded (0 on the live checks)."""
    course = Course(classroom.course_root)
    course.release([CHAPTER])
    notebook = (course.root / "release" / CHAPTER / "first-vm.ipynb").read_text()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    alice = honest_descriptor(classroom, "alice")
    alice["instances"]["web1"]["ports"] = [22, 80]
    place(classroom, "alice", alice)
    place(classroom, "bob", honest_descriptor(classroom, "bob"))
    carol = honest_descriptor(classroom, "carol")
    carol["instances"]["web1"]["ports"] = [22, 80]
    _zip(inbox / "alice.zip", {"first-vm.ipynb": notebook})
    _zip(inbox / "bob.zip", {"first-vm.ipynb": notebook,
                             DESCRIPTOR_NAME: json.dumps(honest_descriptor(classroom, "bob"))})
    _zip(inbox / "carol.zip", {"first-vm.ipynb": notebook, DESCRIPTOR_NAME: json.dumps(carol)})
    roster = str(classroom.folder.parent / "t1.csv")

    assert main(["class", "collect", roster, CHAPTER, "--zips", str(inbox)]) == 0
    collected = capsys.readouterr().out
    assert "invalid descriptor: web1's ports are not a mapping of port numbers" in collected
    assert main(["class", "grade", roster, CHAPTER, "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "alice 01-getting-started: invalid descriptor: web1's ports are not a mapping of port numbers" in out
    assert "bob 01-getting-started: stack unreachable: no machine answers SSH" in out
    assert ("carol 01-getting-started: flagged: the submission's invalid descriptor: web1's ports are not a mapping "
            "of port numbers to port numbers; the instructor has no record of this student's stack") in out
    with (course.root / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert {student: row["status"] for student, row in rows.items()} == {
        "alice": "invalid descriptor", "bob": "stack unreachable", "carol": "graded"}
    assert float(rows["carol"]["score"]) == 0 and "the submission's invalid descriptor" in rows["carol"]["note"]
    assert (course.root / "feedback" / "carol" / CHAPTER / "first-vm.html").is_file()
    assert not (course.root / "feedback" / "alice").exists()
