"""A class end to end, on real local stacks: `workshop class up` for four students,
three of them at different stages (chapter 01 only; through 05; the furthest chapter
catch-up supports) and one whose stack is down; release, collect from the nbgrader
exchange and from zips, one parallel autograde run with the expected grades (catch-up's
own load tests and drills earn no marks), feedback
and CSV; the live page in a real headless browser (screenshot in docs/); a take-home
export; `class down` leaves nothing behind."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import paramiko
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import unique_stack_name
from grader.course_answers import ANSWER_FILES
from grader.graded_cells import graded_cells
from workshop.chapters import CHAPTERS, chapters_through
from workshop.classroom.layout import Classroom
from workshop.classroom.liveserver import LiveView, make_server
from workshop.classroom.provision import _label_only, run_workshop
from workshop.keys import generate_key_pair
from workshop.progress import Progress
from workshop.providers import get_provider

pytestmark = pytest.mark.e2e
FURTHEST = CHAPTERS[-1].id
#: The chapter each student has finished (dave did 01, then his stack went down).
STAGES = {"alice": "01-getting-started", "bob": "05-load-balancing", "carol": FURTHEST, "dave": "01-getting-started"}
SCREENSHOT = ROOT / "docs" / "instructor-live.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,620", "--virtual-time-budget=8000"]


#: The checks of a result only the student's own run can give: on bob's and carol's stacks
#: catch-up made the load tests and no drill or rollback, so their cells earn nothing, with a
#: hint that says why.
OWN_RUNS = {"baseline-load-test", "rollback-restored", "crash-survived", "standby-promoted", "writes-after-failover",
            "pair-whole-again", "no-acknowledged-write-lost", "final-load-test", "throughput-ratio"}


def points_catch_up_cannot_earn(chapter: str) -> float:
    """The cells of the student's own runs; every cell of a chapter whose answer file catch-up
    installed as the course's own (grader/course_answers.py)."""
    cells = [cell for notebook in (ROOT / "solutions" / chapter).glob("*.ipynb") for cell in graded_cells(notebook)]
    return sum(cell.points for cell in cells if chapter in ANSWER_FILES or OWN_RUNS & set(cell.check_ids))


def finished(student: str) -> list[str]:
    """The chapters `student` has done, in course order."""
    return [chapter.id for chapter in chapters_through(STAGES[student])]


def workshop(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 900):
    return subprocess.run([sys.executable, "-m", "workshop.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def classroom(workshop_home, workshop_image, tmp_path_factory):
    """Four students on a fresh roster; afterwards every stack of the class is gone, proven."""
    folder = tmp_path_factory.mktemp("class")
    carol_key = generate_key_pair(folder / "carol_key", comment="carol@laptop")
    roster = folder / "roster.csv"
    roster.write_text("id,name,public_key,address\nalice,Alice Martin,,\nbob,Bob Chen,,192.0.2.11\n"
                      f"carol,Carol Diaz,{carol_key},\ndave,Dave Ode,,\n")
    classroom = Classroom.open(roster, name=unique_stack_name("cls"))
    yield classroom
    left = {}
    for student in classroom.students:
        stack = classroom.stack(student) or _label_only(classroom.stack_name(student))
        provider = get_provider(stack.provider)
        if provider.leftovers(stack):
            left[student.id] = provider.leftovers(stack)
            provider.destroy(stack, Progress("cleanup", quiet=True))
        assert provider.leftovers(stack) == []
    assert not left, f"`class down` left {left} (removed by the fixture)"


def cli_class(classroom: Classroom, verb: str, *args: str, timeout: int = 900):
    return workshop("class", verb, str(classroom.folder.parent / "roster.csv"), *args, "--name", classroom.name,
                    timeout=timeout)


@pytest.fixture(scope="module")
def class_up(classroom):
    result = cli_class(classroom, "up", "--parallel", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def stages(classroom, class_up):
    """bob and carol catch up (one at a time: two cores), dave's machine stops. Catch-up resumes
    where it stopped: on a machine shared with other container tests a boot can miss its time
    limit, and a second run (what an instructor would do) finishes the job."""
    for student in classroom.students:
        if STAGES[student.id] != "01-getting-started":
            for attempt in ("first", "resumed"):
                code, lines = run_workshop(classroom, student, ["catch-up", STAGES[student.id]],
                                           Progress("catch-up", quiet=True))
                if code == 0:
                    break
                said = "\n".join(line for line in lines[-40:] if line.strip())[-2000:]
                print(f"\n{student.id}: {attempt} catch-up failed:\n{said}", flush=True)
            assert code == 0, "\n".join(lines[-30:])
    dave = classroom.student("dave")
    stack = classroom.stack(dave)
    get_provider(stack.provider).stop(stack, "web1")
    return STAGES


def test_class_up_gives_every_student_a_stack_and_connection_details(classroom, class_up):
    assert "\n4 up;" in class_up, class_up
    for student in classroom.students:
        home = classroom.home(student)
        stack = classroom.stack(student)
        assert list(stack.instances) == ["web1"]
        assert json.loads((home / "workshop-stack.json").read_text())["name"] == classroom.stack_name(student)
        assert "Host web1" in (classroom.stack_folder(student) / "ssh_config").read_text()
        connect = (home / "CONNECT.txt").read_text()
        assert f"export WORKSHOP_HOME={home} WORKSHOP_STACK={stack.name}" in connect
    assert "Registered workstation address: 192.0.2.11" in (classroom.home(classroom.student("bob")) /
                                                              "CONNECT.txt").read_text()
    carol = classroom.stack(classroom.student("carol")).instances["web1"]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(carol.public_host, carol.public_port(22), username="root",
                   key_filename=str(classroom.folder.parent / "carol_key"), look_for_keys=False, allow_agent=False,
                   timeout=10)
    try:
        assert client.exec_command("hostname")[1].read().decode().strip() == "web1"
    finally:
        client.close()
    status = cli_class(classroom, "status")
    assert status.returncode == 0 and "4 reachable" in status.stdout, status.stdout + status.stderr


def submission(classroom: Classroom, student_id: str, chapter: str, notebooks: Path, into: Path) -> Path:
    """The assignment folder as the student would hand it in: notebooks, descriptor, recorded results."""
    folder = into / student_id / chapter
    folder.mkdir(parents=True)
    for notebook in notebooks.glob("*.ipynb"):
        shutil.copy(notebook, folder)
    for recorded in classroom.home(classroom.student(student_id)).glob("*.json"):
        shutil.copy(recorded, folder)
    return folder


@pytest.fixture(scope="module")
def graded(classroom, stages, tmp_path_factory):
    """Release, collect (alice's 01 through the exchange, the rest as zips), one grading run."""
    scratch = tmp_path_factory.mktemp("submissions")
    exchange = scratch / "exchange"
    exchange.mkdir(mode=0o777)
    released = cli_class(classroom, "release", "01-getting-started", "02-mod-wsgi", "--exchange", str(exchange))
    assert released.returncode == 0, released.stderr[-3000:]
    release = classroom.course_root / "release"
    alice = submission(classroom, "alice", "01-getting-started", ROOT / "solutions" / "01-getting-started", scratch)
    submit = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "submit", "01-getting-started",
                             "--course", "django-deployment-workshop", f"--Exchange.root={exchange}",
                             "--student=alice"], cwd=alice.parent, capture_output=True, text=True, timeout=120)
    assert submit.returncode == 0, submit.stderr[-2000:]
    collected = cli_class(classroom, "collect", "01-getting-started", "--exchange", str(exchange))
    assert collected.returncode == 0 and "alice    01-getting-started  yes" in collected.stdout, collected.stdout

    # alice started chapter 02 and handed in the notebooks untouched; bob and carol hand in the
    # reference answers of their chapters, on stacks catch-up built (its load tests and drills earn nothing)
    handed_in = [("alice", "02-mod-wsgi", release / "02-mod-wsgi"), ("dave", "01-getting-started", None)]
    handed_in += [(student, chapter, None) for student in ("bob", "carol")
                  for chapter in finished(student)]
    for student, chapter, notebooks in handed_in:
        folder = submission(classroom, student, chapter, notebooks or ROOT / "solutions" / chapter, scratch / "zips")
        inbox = scratch / "inbox" / chapter
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.make_archive(str(inbox / student), "zip", root_dir=folder.parent, base_dir=chapter)
    for chapter in sorted({chapter for _, chapter, _ in handed_in}):
        result = cli_class(classroom, "collect", chapter, "--zips", str(scratch / "inbox" / chapter))
        assert result.returncode == 0, result.stderr[-2000:]

    started = time.monotonic()
    result = cli_class(classroom, "grade", "--workers", "2", timeout=1800)
    elapsed = time.monotonic() - started
    print(f"\n--- class grade: {elapsed:.1f}s wall (incl. start-up) ---\n{result.stdout}\n--- stderr (tail) ---\n"
          f"{result.stderr[-2500:]}", flush=True)
    return result, elapsed


def test_one_grading_run_gives_the_expected_grades(classroom, graded):
    result, _ = graded
    assert result.returncode == 1, result.stderr[-3000:]  # dave's stack is down: the run says so, and finishes
    assert "dave 01-getting-started: stack unreachable: no machine answers SSH: web1" in result.stdout
    with (classroom.course_root / "grades.csv").open() as handle:
        rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(handle)}
    for student in ("alice", "bob", "carol"):
        for chapter in finished(student):
            row = rows[(student, chapter)]
            withheld = points_catch_up_cannot_earn(chapter)
            assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) - withheld, row
    assert float(rows[("carol", "08-replication")]["score"]) == 0  # catch-up cloned her standby: the course's script
    assert rows[("alice", "02-mod-wsgi")]["status"] == "graded"
    assert float(rows[("alice", "02-mod-wsgi")]["score"]) == 0
    assert rows[("alice", "03-postgresql")]["status"] == "not submitted"
    assert (rows[("dave", "01-getting-started")]["status"], rows[("dave", "01-getting-started")]["score"]) == \
        ("stack unreachable", "")


def test_feedback_carries_the_checks_report_and_nothing_for_the_unreachable_stack(classroom, graded):
    feedback = classroom.course_root / "feedback"
    started = "".join(p.read_text() for p in (feedback / "alice" / "02-mod-wsgi").glob("*.html"))
    assert "Chapter 02-mod-wsgi: 0/" in started and "hint:" in started
    done = "".join(p.read_text() for p in (feedback / "bob" / "05-load-balancing").glob("*.html"))
    assert "Chapter 05-load-balancing: 0/3 points" in done and "[PASS]" not in done  # catch-up's nginx site
    assert "lb1 runs the course's own nginx site" in done and "no crash drill recorded for web1" in done
    standby = "".join(p.read_text() for p in (feedback / "carol" / "08-replication").glob("*.html"))
    assert "db2 runs the course's own clone script" in standby
    assert not (feedback / "dave").exists()


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    assert browser, "chromium is not installed: apt-get install -y chromium (scripts/setup.sh does it)"
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


def cells(dom: str, student: str, status: str) -> int:
    """How many check cells of `student` the rendered page shows with `status`."""
    return len(re.findall(f'data-student="{student}" data-check="[^"]*" data-status="{status}"', dom))


def test_the_live_page_shows_each_students_checks_and_refreshes(classroom, graded, tmp_path):
    view = LiveView(classroom, interval=600)
    snapshot = view.poll()
    by_id = {row["id"]: row for row in snapshot["students"]}
    assert by_id["dave"]["problem"].startswith("no machine answers SSH")
    assert by_id["bob"]["passed"] > by_id["alice"]["passed"] >= 3
    server = make_server(view, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = server.url  # the page answers only with the token it was started with
    try:
        dom = chromium("--dump-dom", url, profile=tmp_path / "profile-1").stdout
        assert f"Class {classroom.name}: which checks pass right now" in dom
        assert cells(dom, "dave", "unreachable") == by_id["dave"]["total"]
        assert cells(dom, "bob", "passed") == by_id["bob"]["passed"]
        assert cells(dom, "alice", "failed") > 0
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shot = chromium(f"--screenshot={SCREENSHOT}", url, profile=tmp_path / "profile-2")
        assert SCREENSHOT.stat().st_size > 10_000, shot.stderr[-2000:]

        dave = classroom.stack(classroom.student("dave"))
        get_provider(dave.provider).start(dave, "web1", Progress("dave", quiet=True))
        view.poll()
        dom = chromium("--dump-dom", url, profile=tmp_path / "profile-3").stdout
        assert cells(dom, "dave", "unreachable") == 0 and cells(dom, "dave", "passed") >= 3
    finally:
        server.shutdown()
        server.server_close()


def test_export_takes_home_every_config_the_fabfile_load_tests_and_an_architecture_readme(classroom, stages,
                                                                                          tmp_path):
    carol = classroom.student("carol")
    out = tmp_path / "carol-takehome"
    result = workshop("export", "--out", str(out), "--zip", env=classroom.env(carol), cwd=classroom.home(carol))
    assert result.returncode == 0, result.stderr[-3000:]
    for path in ("configs/web1/etc/apache2/sites-available/newsroom.conf",
                 "configs/web2/etc/apache2/sites-available/newsroom.conf",
                 "configs/lb1/etc/nginx/sites-available/newsroom",
                 "configs/db1/etc/postgresql/15/main/pg_hba.conf",
                 "configs/db1/etc/postgresql/15/main/conf.d/workshop.conf",
                 "fabfile.py", "loadtests/loadtest-02-baseline.json", "loadtests.png",
                 "stack.png"):
        assert (out / path).is_file(), path
    assert "WSGIDaemonProcess" in (out / "configs/web1/etc/apache2/sites-available/newsroom.conf").read_text()
    stack = classroom.stack(carol)
    readme = (out / "README.md").read_text()
    for record in stack.instances.values():
        assert f"| {record.name} | {record.role} | {record.private_ip} |" in readme
    assert "browser -> " in readme and "lb1 -> web1, web2" in readme
    secrets = json.loads((classroom.stack_folder(carol) / "secrets.json").read_text())
    exported = "".join(p.read_text() for p in (out / "configs").rglob("*") if p.is_file())
    assert "<redacted>" in exported
    assert not [name for name, value in secrets.items() if isinstance(value, str) and value in exported]
    with zipfile.ZipFile(f"{out}.zip") as bundle:
        assert "carol-takehome/README.md" in bundle.namelist()


def test_class_down_removes_every_stack_and_student_folder(classroom, graded):
    result = cli_class(classroom, "down", "--yes")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [line.split()[-1] for line in result.stdout.splitlines()[-4:]] == ["gone"] * 4, result.stdout
    for student in classroom.students:
        assert get_provider().leftovers(_label_only(classroom.stack_name(student))) == []
        assert not classroom.home(student).exists()
    assert (classroom.course_root / "grades.csv").is_file()  # the grades outlive the machines
