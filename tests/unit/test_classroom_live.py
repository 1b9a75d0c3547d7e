"""The live view: polling never writes, an unreachable stack is one clear answer, and the
page and snapshot are served over HTTP. (A real browser draws it in tests/e2e/test_classroom.py.)"""

import json
import socket
import threading
import urllib.request

import pytest

from grader.target import ProbeError
from workshop.classroom.layout import Classroom
from workshop.classroom.live import NOT_POLLED, UNREACHABLE, ReadOnlyTarget, chapter_plan, poll_class
from workshop.classroom.liveserver import LiveView, make_server
from workshop.classroom.reach import unreachable
from workshop.stack import InstanceRecord, Stack


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stack(name: str, port: int) -> Stack:
    record = InstanceRecord("web1", "web", "10.0.0.21", "127.0.0.1", {"22": port, "80": port}, "c1")
    return Stack(name=name, provider="local", ssh_user="root", ssh_key="/nonexistent", instances={"web1": record})


@pytest.fixture
def classroom(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nalice,Alice\nbob,Bob\n")
    classroom = Classroom.open(roster, name="t1")
    folder = classroom.stack_folder(classroom.student("alice"))
    folder.mkdir(parents=True)
    (folder / "stack.json").write_text(json.dumps(_stack("t1-alice", _closed_port()).to_dict()))
    return classroom


def test_the_live_target_refuses_requests_that_write_and_says_so(tmp_path):
    target = ReadOnlyTarget(_stack("t1-alice", _closed_port()), "test", tmp_path / "stacks" / "t1-alice")
    with pytest.raises(ProbeError, match="not polled live: this check sends POST /api/uploads/"):
        target.http("web1", "/api/uploads/", method="post")
    assert target.refusals[0].startswith("not polled live")


def test_recorded_results_come_from_the_students_own_stack_folder(tmp_path):
    folder = tmp_path / "students/alice/stacks/t1-alice"
    (folder / "drills").mkdir(parents=True)
    (folder / "drills" / "crash-web1.json").write_text('{"failed": 0}')
    target = ReadOnlyTarget(_stack("t1-alice", 1), "test", folder)
    assert target.recorded("crash-web1.json", "drills") == {"failed": 0}
    assert target.recorded("loadtest-02-baseline.json", "loadtests") is None


def test_a_stack_whose_machines_refuse_ssh_is_unreachable_and_one_that_greets_is_not():
    assert unreachable(_stack("x", _closed_port())).startswith("no machine answers SSH: web1 (127.0.0.1:")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        threading.Thread(target=lambda: server.accept()[0].sendall(b"SSH-2.0-OpenSSH_9.2\r\n"), daemon=True).start()
        assert unreachable(_stack("x", server.getsockname()[1])) is None


def test_polling_a_class_marks_every_check_of_an_unreachable_or_missing_stack(classroom):
    snapshot = poll_class(classroom, ["01-getting-started"])
    alice, bob = snapshot["students"]
    checks = chapter_plan(["01-getting-started"])[0]["checks"]
    assert alice["total"] == len(checks) and alice["passed"] == 0
    assert alice["problem"].startswith("no machine answers SSH")
    assert {r["status"] for r in alice["results"]["01-getting-started"].values()} == {UNREACHABLE}
    assert bob["problem"] == "no stack yet (workshop class up)"
    assert NOT_POLLED in snapshot["statuses"]


def test_the_page_and_the_latest_snapshot_are_served(classroom):
    view = LiveView(classroom, interval=30, snapshot={"class": "t1", "students": []})
    server = make_server(view, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = urllib.request.urlopen(base + "/").read().decode()
        assert "fetch(\"/snapshot.json\"" in page and "setInterval(refresh, 5 * 1000)" in page
        assert json.loads(urllib.request.urlopen(base + "/snapshot.json").read()) == {"class": "t1", "students": []}
        view.snapshot = {"class": "t1", "students": [{"id": "alice"}]}
        assert json.loads(urllib.request.urlopen(base + "/snapshot.json").read())["students"] == [{"id": "alice"}]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(base + "/etc/passwd")
    finally:
        server.shutdown()
        server.server_close()
