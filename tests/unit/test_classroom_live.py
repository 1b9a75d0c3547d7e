"""The live view: polling never writes, an unreachable stack is one clear answer, and the
page and snapshot are served over HTTP. (A real browser draws it in tests/e2e/test_classroom.py.)"""

import http.client
import json
import socket
import threading
import urllib.request

import pytest

from grader.target import ProbeError
from tests.conftest import HOST_KEY
from tests.unit.record_samples import crash_drill
from workshop.classroom.layout import Classroom
from grader.result import FAILED, CheckResult
from workshop import poll
from workshop.classroom.live import chapter_plan, poll_class
from workshop.poll import NOT_POLLED, NOT_REACHED, UNREACHABLE, ReadOnlyTarget
from workshop.classroom.liveserver import PAGE, LiveView, make_server, student_diagram
from workshop.classroom.reach import unreachable
from workshop.records import CrashDrill, LoadTest, RecordFolders
from workshop.stack import InstanceRecord, Stack


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stack(name: str, port: int, key: str = "") -> Stack:
    record = InstanceRecord("web1", "web", "10.0.0.21", "127.0.0.1", {"22": port, "80": port}, "c1", HOST_KEY)
    return Stack(name=name, provider="local", ssh_user="root", ssh_key=key, instances={"web1": record})


@pytest.fixture
def classroom(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nalice,Alice\nbob,Bob\n")
    classroom = Classroom.open(roster, name="t1")
    folder = classroom.stack_folder(classroom.student("alice"))
    folder.mkdir(parents=True)
    (folder / "stack.json").write_text(json.dumps(_stack("t1-alice", _closed_port(), str(folder / "id")).to_dict()))
    return classroom


def test_the_live_target_refuses_requests_that_write_and_says_so(tmp_path):
    target = ReadOnlyTarget(_stack("t1-alice", _closed_port()), "test", tmp_path / "stacks" / "t1-alice")
    with pytest.raises(ProbeError, match="not polled live: this check sends POST /api/uploads/"):
        target.http("web1", "/api/uploads/", method="post")
    assert target.refusals[0].startswith("not polled live")


def test_recorded_results_come_from_the_students_own_stack_folder(tmp_path):
    folder = tmp_path / "students/alice/stacks/t1-alice"
    drill = crash_drill(stack="t1-alice")
    RecordFolders(None, folder).save(drill)
    target = ReadOnlyTarget(_stack("t1-alice", 1), "test", folder)
    assert target.recorded(CrashDrill, "web1", "crash_web_server(lab)") == drill
    with pytest.raises(ProbeError, match="no load test recorded"):
        target.recorded(LoadTest, "02-baseline", "loadtest.run(lab, ...)")


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


@pytest.fixture
def served(classroom):
    view = LiveView(classroom, interval=30, snapshot={"class": "t1", "students": []})
    server = make_server(view, port=0)
    # shutdown() waits for the loop to look up: every 0.5 s by default, half a second per test
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield view, server
    server.shutdown()
    server.server_close()


def _get(url: str, host: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    return urllib.request.urlopen(request).read()


def test_the_page_and_the_latest_snapshot_are_served_with_the_token(served):
    view, server = served
    base, token = f"http://127.0.0.1:{server.server_address[1]}", f"?token={server.token}"
    assert server.url == f"{base}/{token}" and len(server.token) >= 32
    page = _get(server.url).decode()
    assert 'fetch("/snapshot.json" + location.search' in page and "setInterval(refresh, 5 * 1000)" in page
    assert json.loads(_get(f"{base}/snapshot.json{token}")) == {"class": "t1", "students": []}
    view.snapshot = {"class": "t1", "students": [{"id": "alice"}]}
    assert json.loads(_get(f"{base}/snapshot.json{token}"))["students"] == [{"id": "alice"}]
    assert json.loads(_get(f"{base}/snapshot.json{token}", host=f"localhost:{server.server_address[1]}"))
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _get(f"{base}/etc/passwd{token}")


@pytest.mark.parametrize("path", ["/", "/snapshot.json", "/snapshot.json?token=", "/snapshot.json?token=guess",
                                  "/etc/passwd", "/diagram/alice.png", "/diagram/alice.png?token=guess"])
def test_a_request_without_the_token_is_refused_and_told_where_the_url_is(served, path):
    _, server = served
    with pytest.raises(urllib.error.HTTPError, match="403") as refused:
        _get(f"http://127.0.0.1:{server.server_address[1]}{path}")
    assert b"open the URL `workshop class live` printed" in refused.value.read()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}"])
def test_a_request_for_another_host_name_is_refused_even_with_the_token(served, host):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: its Host header gives it away."""
    _, server = served
    for path in ("/", "/diagram/alice.png"):
        with pytest.raises(urllib.error.HTTPError, match="403") as refused:
            _get(server.url.replace("/?", f"{path}?"), host=host.format(port=server.server_address[1]))
        assert b"wrong Host" in refused.value.read()


def test_a_request_without_a_host_header_is_refused(served):
    _, server = served
    connection = http.client.HTTPConnection(*server.server_address)
    connection.putrequest("GET", f"/snapshot.json?token={server.token}", skip_host=True)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 403 and b"wrong Host" in response.read()
    connection.close()


def test_a_chapter_whose_machines_the_stack_lacks_is_not_reached_and_its_checks_do_not_run(classroom, monkeypatch):
    """alice's stack has web1 only: chapter 01's checks run (and fail here), 03's and 05's are
    'not reached yet', naming the missing machines, and none of their checks is probed."""
    ran = []

    def failing(item, target):
        ran.append(item.chapter)
        return CheckResult(item.check_id, item.title, FAILED, item.points, ["broken"])

    monkeypatch.setattr(poll, "unreachable", lambda stack: None)
    monkeypatch.setattr(poll, "run_check", failing)
    alice = poll_class(classroom, ["01-getting-started", "03-postgresql", "05-load-balancing"])["students"][0]
    assert set(ran) == {"01-getting-started"}
    assert {r["status"] for r in alice["results"]["01-getting-started"].values()} == {FAILED}
    for chapter, missing in (("03-postgresql", "db1"), ("05-load-balancing", "db1, media1, web2, lb1")):
        outcomes = alice["results"][chapter].values()
        assert {r["status"] for r in outcomes} == {NOT_REACHED}, chapter
        assert {r["hint"] for r in outcomes} == {f"not reached yet: no {missing} in the stack"}
    assert alice["passed"] == 0 and NOT_REACHED in poll_class(classroom, ["03-postgresql"])["statuses"]


def test_the_page_draws_a_not_reached_cell_apart_from_a_failed_one():
    """Statuses of several words become one CSS class each (a first-space-only replace split them)."""
    assert 'r.status.replace(/ /g, "-")' in PAGE
    assert ".not-reached-yet {" in PAGE and ".failed {" in PAGE and "not reached yet" in PAGE


def test_each_poll_draws_every_students_stack_and_the_page_serves_it_with_the_token(classroom):
    """alice's stack does not answer (web1 drawn failed), bob has none (nothing drawn started);
    the page shows one picture per student, an unknown student's picture is not found."""
    view = LiveView(classroom, interval=30)
    snapshot = view.poll()
    assert set(view.diagrams) == {"alice", "bob"}
    alice, bob = (student_diagram(row).picture for row in snapshot["students"])
    assert alice.boxes["web1"].status == "failed" and alice.boxes["web1"].present
    assert not any(box.present for name, box in bob.boxes.items() if name != "browser")
    server = make_server(view, port=0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        base, token = f"http://127.0.0.1:{server.server_address[1]}", f"?token={server.token}"
        assert _get(f"{base}/diagram/alice.png{token}&at=1") == view.diagrams["alice"]
        assert view.diagrams["alice"].startswith(b"\x89PNG")
        for unknown in ("carol.png", "alice", "..%2Fsnapshot.json"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                _get(f"{base}/diagram/{unknown}{token}")
        assert "/diagram/${encodeURIComponent(st.id)}.png${location.search}" in PAGE
    finally:
        server.shutdown()
        server.server_close()
