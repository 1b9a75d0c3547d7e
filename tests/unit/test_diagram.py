"""The stack diagram (workshop/diagram.py) and the read-only poll it is drawn from
(workshop/poll.py): which boxes, colours and arrows a stack gets, without machines."""

import socket
import threading

import nbformat
import pytest
from matplotlib.colors import to_hex

import grader
from grader.result import FAILED, NOT_RUN, PASSED, CheckResult
from tests.conftest import HOST_KEY
from workshop import diagram, poll
from workshop.chapters import CHAPTERS, machines_through
from workshop.diagram import BROWSER, COLOURS, NOT_YET, Arrow, describe, draw, request_path
from workshop.lab import Lab
from workshop.poll import NOT_POLLED, NOT_REACHED, UNREACHABLE, StackPoll, poll_stack
from workshop.stack import InstanceRecord, Stack
from workshop.topology import PLAN


def every_check(chapters, status=PASSED) -> dict[str, dict[str, str]]:
    return {chapter: {check_id: status for check_id in grader.CHECKS[chapter]} for chapter in chapters}


def arrows(*pairs: str, kind: str) -> set[Arrow]:
    return {Arrow(*pair.split("->"), kind) for pair in pairs}


def test_each_machine_is_coloured_by_the_checks_of_the_chapters_that_judge_it():
    statuses = every_check(["01-getting-started", "02-mod-wsgi", "03-postgresql", "04-fabric", "05-load-balancing"])
    statuses["05-load-balancing"]["static-from-nginx"] = FAILED
    statuses["02-mod-wsgi"]["baseline-load-test"] = NOT_RUN  # needs the notebook: neither passed nor failed
    boxes = describe("alice", machines_through(5), statuses).boxes
    assert (boxes["web1"].status, boxes["web1"].passed, boxes["web1"].ran) == (PASSED, 15, 15)  # 01 + 02 + 04
    assert {boxes[name].status for name in ("lb1", "web2", "media1")} == {FAILED}
    assert (boxes["lb1"].passed, boxes["lb1"].ran) == (6, 7)
    assert boxes["db1"].status == PASSED and boxes["db1"].present
    assert boxes["varnish1"].status == NOT_YET and not boxes["varnish1"].present
    assert set(boxes) == set(PLAN) | {BROWSER}


def test_a_machine_whose_chapter_is_not_reached_or_not_polled_is_not_yet_and_an_unreachable_one_failed():
    statuses = {"01-getting-started": {"instance-running": UNREACHABLE},
                "03-postgresql": {"app-uses-postgres-on-db1": NOT_REACHED},
                "05-load-balancing": {"shared-media": NOT_POLLED}}
    boxes = describe("bob", ["web1", "db1", "lb1", "web2", "media1"], statuses).boxes
    assert boxes["web1"].status == FAILED
    assert boxes["db1"].status == boxes["lb1"].status == NOT_YET and boxes["db1"].ran == 0


def test_the_chapters_row_shows_every_chapter_and_chapter_10_which_judges_no_machine():
    statuses = every_check(["01-getting-started", "10-final-load-test"])
    statuses["10-final-load-test"]["throughput-ratio"] = FAILED
    chapters = describe("carol", machines_through(10), statuses).chapters
    assert len(chapters) == 10
    assert (chapters["01-getting-started"], chapters["02-mod-wsgi"], chapters["10-final-load-test"]) == \
        (PASSED, NOT_YET, FAILED)


def test_the_request_path_starts_at_the_first_tier_the_stack_has():
    assert set(request_path({"web1"}, {})) == arrows("browser->web1", kind="request")
    assert set(request_path({"web1", "db1"}, {})) == arrows("browser->web1", kind="request") | arrows(
        "web1->db1", kind="sql")
    at_05 = set(request_path(set(machines_through(5)), {}))
    assert {a for a in at_05 if a.kind == "request"} == arrows("browser->lb1", "lb1->web1", "lb1->web2",
                                                               kind="request")
    assert {a for a in at_05 if a.kind == "media"} == arrows("lb1->media1", "web1->media1", "web2->media1",
                                                             kind="media")


def test_the_whole_stack_goes_through_varnish_pgpool_and_replicates_from_the_primary_it_names():
    path = set(request_path(set(machines_through(10)), {"db1": "standby", "db2": "primary"}))
    assert arrows("browser->varnish1", "varnish1->lb1", "lb1->web1", "lb1->web2", kind="request") <= path
    assert arrows(*(f"{web}->{cache}" for web in ("web1", "web2") for cache in ("cache1", "cache2")),
                  kind="cache") <= path
    assert {a for a in path if a.kind == "sql"} == arrows("web1->pgpool1", "web2->pgpool1", "pgpool1->db1",
                                                          "pgpool1->db2", kind="sql")
    assert {a for a in path if a.kind == "replication"} == arrows("db2->db1", kind="replication")
    down = set(request_path(set(machines_through(10)), {"db1": "down", "db2": "primary"}))
    assert not {a for a in down if "db1" in (a.source, a.target)}, "a database that is down gets no arrow"


def test_the_database_boxes_say_their_role_when_the_checks_saw_it():
    boxes = describe("dave", machines_through(8), {}, {"db1": "primary", "db2": "standby"}).boxes
    assert (boxes["db1"].label, boxes["db2"].label) == ("PostgreSQL primary", "PostgreSQL standby")
    assert describe("dave", ["db1"], {}).boxes["db1"].label == "PostgreSQL"


def test_the_drawing_holds_one_box_per_machine_in_its_colour_every_arrow_and_a_legend():
    statuses = every_check(["01-getting-started", "03-postgresql"])
    statuses["03-postgresql"]["password-authentication"] = FAILED
    picture = describe("erin", ["web1", "db1"], statuses, note="polled in 1.0 s")
    drawn = draw(picture)
    axes = drawn.figure.axes[0]
    fills = {patch.get_gid()[4:]: to_hex(patch.get_facecolor()) for patch in axes.patches
             if (patch.get_gid() or "").startswith("box:")}
    assert fills["web1"] == COLOURS[PASSED][0] and fills["db1"] == COLOURS[FAILED][0]
    assert fills["lb1"] == COLOURS[NOT_YET][0] and len(fills) == len(PLAN) + 1
    drawn_arrows = [text for text in axes.texts if (text.get_gid() or "").startswith("arrow:")]
    assert sorted(a.get_gid() for a in drawn_arrows) == ["arrow:request", "arrow:sql"]
    words = {text.get_text() for text in axes.texts + drawn.figure.texts}
    assert {"web1", "4/4 checks passed", "4/5 checks passed", "not started yet", "web servers", "polled in 1.0 s",
            "Stack erin: 2 of 10 machines"} <= words
    assert [t.get_text() for t in drawn.figure.legends[0].get_texts()] == list(diagram.LEGEND.values())
    chapter_03 = next(t for t in drawn.figure.texts if t.get_gid() == "chapter:03-postgresql")
    assert to_hex(chapter_03.get_bbox_patch().get_facecolor()) == COLOURS[FAILED][0]


def test_the_diagram_renders_inline_as_png_and_saves(tmp_path):
    drawn = draw(describe("frank", ["web1"], {}))
    png = drawn._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert drawn.save(tmp_path / "stack.png").read_bytes()[:8] == png[:8]


def _stack(port: int, names=("web1",)) -> Stack:
    records = {name: InstanceRecord(name, PLAN[name].role, f"10.0.0.{PLAN[name].host_number}", "127.0.0.1",
                                    {"22": port, "80": port}, "c1", HOST_KEY) for name in names}
    return Stack(name="t1-alice", provider="local", ssh_user="root", ssh_key="", instances=records)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lab_diagram_draws_a_given_poll_without_probing(tmp_path):
    stack = _stack(_closed_port(), ["web1", "db1", "db2"])
    given = StackPoll({"08-replication": {"standby-in-recovery": CheckResult(
        "standby-in-recovery", "db2 runs as a standby", PASSED, 1, evidence={"roles": {"db1": "primary",
                                                                                       "db2": "standby"}})}}, 2.5)
    drawn = Lab(stack, None, tmp_path).diagram(given)
    assert drawn.picture.boxes["db2"].status == PASSED and drawn.picture.boxes["db2"].label == "PostgreSQL standby"
    assert drawn.picture.note.startswith("checks polled read-only in 2.5 s")


def test_a_stack_no_machine_of_which_answers_is_polled_as_unreachable_without_running_a_check(tmp_path, monkeypatch):
    monkeypatch.setattr(poll, "run_check", lambda item, target: pytest.fail("a check ran on an unreachable stack"))
    found = poll_stack(_stack(_closed_port()), tmp_path, ["01-getting-started"])
    assert found.problem.startswith("no machine answers SSH: web1")
    assert {r.status for r in found.results["01-getting-started"].values()} == {UNREACHABLE}
    assert describe("t1-alice", ["web1"], found.statuses()).boxes["web1"].status == FAILED


def test_chapters_are_polled_at_once_each_through_its_own_target(tmp_path, monkeypatch):
    """Two chapters' first checks meet at a barrier: polled one after the other, the first would wait alone."""
    meeting, targets = threading.Barrier(2, timeout=30), set()

    def meet(item, target):
        targets.add(id(target))
        if item.check_id in ("instance-running", "apache-serves-app"):
            meeting.wait()
        return CheckResult(item.check_id, item.title, PASSED, item.points)

    monkeypatch.setattr(poll, "unreachable", lambda stack: None)
    monkeypatch.setattr(poll, "run_check", meet)
    found = poll_stack(_stack(_closed_port()), tmp_path, ["01-getting-started", "02-mod-wsgi", "03-postgresql"],
                       workers=2)
    assert list(found.results) == ["01-getting-started", "02-mod-wsgi", "03-postgresql"]
    assert {r.status for r in found.results["02-mod-wsgi"].values()} == {PASSED}
    assert {r.status for r in found.results["03-postgresql"].values()} == {NOT_REACHED}  # no db1: not run
    assert len(targets) == 2


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter.id)
def test_every_lesson_ends_by_drawing_the_students_stack(chapter):
    last = nbformat.read(chapter.lesson, as_version=4).cells[-1]
    assert last.cell_type == "code" and last.source.rstrip().endswith("lab.diagram()")


def test_a_stack_without_machines_has_reached_no_chapter(tmp_path):
    found = poll_stack(_stack(_closed_port(), names=()), tmp_path, ["01-getting-started", "02-mod-wsgi"])
    assert found.problem == "" and {r.status for c in found.results.values() for r in c.values()} == {NOT_REACHED}
    assert set(describe("t1-alice", [], found.statuses()).chapters.values()) == {NOT_YET}
