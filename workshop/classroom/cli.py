"""`workshop class VERB ROSTER`: the instructor's day, one verb per step.

    workshop class up ROSTER [--catch-up N]   a stack per student, connection details in their folders
    workshop class status ROSTER              machines running and reachable, per student
    workshop class release ROSTER [A ...]     generate the student versions, publish to the exchange
    workshop class collect ROSTER A [--zips DIR]  submissions from the exchange or from DIR/ID.zip
    workshop class grade ROSTER [A ...]       autograde against the live stacks, feedback, grades.csv
    workshop class live ROSTER                a web page of which checks pass right now
    workshop class hub ROSTER                 a classroom server: an account and a JupyterLab per student
    workshop class down ROSTER                delete every stack and prove nothing is left
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import topology
from ..chapters import find_chapter
from ..errors import WorkshopError
from ..progress import Progress
from .layout import Classroom
from .table import count_by, format_table


def _classroom(args) -> Classroom:
    return Classroom.open(Path(args.roster), Path(args.dir) if args.dir else None, args.name)


def _course(classroom: Classroom, args, exchange: bool = False):
    """The class's nbgrader course; with `exchange`, the exchange folder must be there to use."""
    from ..course import Course  # nbgrader is slow to import: only the verbs that grade pay for it

    try:
        course = Course(classroom.course_root, exchange=Path(args.exchange) if args.exchange else None)
    except OSError as exc:
        raise WorkshopError(f"Cannot write the class's course folder {classroom.course_root} ({exc.strerror}): "
                            "choose a folder you can write with --dir") from None
    folder = Path(course.config.Exchange.root)
    if exchange and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        raise WorkshopError(f"The nbgrader exchange {folder} is missing or not writable: create it "
                            f"(`mkdir -p -m 1777 {folder}`) or pass --exchange DIR")
    return course


def _assignments(names: list[str]) -> list[str]:
    """Assignment names as nbgrader knows them (a chapter's id; its number is accepted too)."""
    return [find_chapter(name).id for name in names]


def number(kind, low: float, high: float | None = None):
    """An argparse type: a `kind` (int or float) from `low` to `high`, else a usage error
    that gives the range (0 workers would never finish, port 99999 cannot be bound)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {low:g}"
                                             + (f"..{high:g}" if high is not None else " or more"))
        return value
    return parse


def cmd_up(args) -> int:
    from .provision import UP_COLUMNS, up

    for name in args.instances:
        topology.spec(name)  # refused here, before any student's stack is made
    if args.catch_up:
        args.catch_up = find_chapter(args.catch_up).id
    classroom = _classroom(args)
    rows = up(classroom, args.instances, args.catch_up, args.parallel)
    print(format_table(rows, UP_COLUMNS))
    print(f"\n{count_by(rows, 'result')}; each student's folder (CONNECT.txt, workshop-stack.json) is under "
          f"{classroom.folder / 'students'}")
    return 0 if all(row["result"] == "up" for row in rows) else 1


def cmd_status(args) -> int:
    from .provision import STATUS_COLUMNS, status

    rows = status(_classroom(args))
    print(format_table(rows, STATUS_COLUMNS))
    print(f"\nssh: {count_by(rows, 'ssh')}")
    return 0


def cmd_release(args) -> int:
    names = _assignments(args.assignments)
    classroom = _classroom(args)
    course = _course(classroom, args, exchange=True)
    for name in course.release(names or None):
        course.publish(name)
        print(f"released {name}: students fetch it from the exchange (Assignments tab, or nbgrader fetch_assignment)")
    return 0


def cmd_collect(args) -> int:
    from .collect import COLUMNS, collect_zips, descriptor_note, refuse_impersonations

    assignment = find_chapter(args.assignment).id
    classroom = _classroom(args)
    course = _course(classroom, args, exchange=not args.zips)
    homes = classroom.homes()
    if args.zips:
        rows = collect_zips(course, assignment, Path(args.zips), classroom.students, homes)
    else:
        from .hub import account_owners, student_homes

        homes = {**homes, **student_homes(classroom)}  # where the descriptors they submit keep their keys
        inbound = Path(course.config.Exchange.root) / course.config.CourseDirectory.course_id / "inbound"
        refused = refuse_impersonations(inbound, account_owners(classroom))
        collected = set(course.collect(assignment))
        rows = [{"student": s.id, "assignment": assignment, "collected": "yes" if s.id in collected else "no",
                 "note": "; ".join(filter(None, [refused.get(s.id), descriptor_note(
                     course, assignment, s.id, homes[s.id]) if s.id in collected else "nothing in the exchange"]))}
                for s in classroom.students]
    print(format_table(rows, COLUMNS))
    return 0


def cmd_grade(args) -> int:
    from .autograde import GRADED, NOT_SUBMITTED, generate_feedback, grade_class, summary_rows
    from .grades import grade_rows, write_grades

    chosen = _assignments(args.assignments)
    classroom = _classroom(args)
    students = [classroom.student(student).id for student in args.student or ()] or [
        student.id for student in classroom.students]
    course = _course(classroom, args)
    names = chosen or sorted({p.name for p in (course.root / "submitted").glob("*/*") if p.is_dir()})
    if not names:
        print(f"Nothing to grade in {course.root / 'submitted'}: `workshop class collect` first", file=sys.stderr)
        return 1
    progress = Progress(f"class {classroom.name} autograde")
    homes = classroom.homes()
    from .hub import student_homes

    grades = grade_class(course, names, students, args.workers, progress, homes, classroom.records(),
                         student_homes(classroom))
    feedback = generate_feedback(course, grades)
    csv_path = write_grades(course.root / "grades.csv", grade_rows(course, classroom.students, names, grades))
    print(format_table(summary_rows(grades, names), ["student", *names, "total", "seconds"]))
    problems = [g for g in grades if g.status not in (GRADED, NOT_SUBMITTED)]
    for grade in problems:
        print(f"  {grade.student} {grade.assignment}: {grade.status}: {grade.detail}")
    for grade in grades:
        if grade.status == GRADED and grade.detail:
            print(f"  {grade.student} {grade.assignment}: flagged: {grade.detail}")
    print(f"\ngraded in {progress.elapsed:.1f}s; feedback for {len(feedback)} submission(s) under "
          f"{course.root / 'feedback'}; grades in {csv_path}")
    return 1 if problems else 0


def cmd_live(args) -> int:
    from .liveserver import serve

    chapters = [find_chapter(chapter).id for chapter in args.chapters or ()]
    serve(_classroom(args), args.port, args.interval, chapters or None)
    return 0


def cmd_hub(args) -> int:
    from .hub import COLUMNS, serve, set_up

    classroom = _classroom(args)
    runtime = Path(args.runtime or f"/srv/workshop/{classroom.name}")
    rows = set_up(classroom, runtime, args.ip, args.port)
    print(format_table(rows, COLUMNS))
    print(f"\n{count_by(rows, 'result')}; hand each student their line of {classroom.folder / 'hub/accounts.csv'}\n"
          f"publish assignments to the students' exchange: workshop class release {args.roster} "
          f"--exchange {runtime.resolve() / 'exchange'} (collect and grade take the same --exchange)")
    if args.setup_only:
        return 0
    print(f"JupyterHub on http://{args.ip}:{args.port}/ and the machine broker (Ctrl-C stops both)")
    return serve(classroom)


def cmd_down(args) -> int:
    from .provision import DOWN_COLUMNS, down

    classroom = _classroom(args)
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete the {len(classroom.students)} stacks of class {classroom.name!r}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    from .hub import tear_down

    rows = down(classroom, args.parallel)
    print(format_table(rows, DOWN_COLUMNS))
    for removed in tear_down(classroom):
        print(f"removed {removed}")
    return 0 if all(row["left"] == "-" for row in rows) else 1


def add_class_parser(verbs) -> None:
    """Attach `class` and its verbs to the `workshop` command's subparsers."""
    parser = verbs.add_parser("class", help="instructor: provision, grade, watch and tear down a whole class",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="class_verb", required=True, metavar="STEP")

    def step(name: str, help: str, run) -> argparse.ArgumentParser:
        sub = steps.add_parser(name, help=help)
        sub.add_argument("roster", help="class roster CSV: id,name[,public_key,address]")
        sub.add_argument("--dir", help="class folder (default: ROSTER-STEM-class beside the roster)")
        sub.add_argument("--name", help="class name, the prefix of its stacks (default: the roster's stem)")
        sub.set_defaults(run=run)
        return sub

    up = step("up", "start a stack per student and write their connection details", cmd_up)
    up.add_argument("--instances", nargs="+", default=["web1"], metavar="NAME", help="machines to start (default web1)")
    up.add_argument("--catch-up", metavar="CHAPTER", help="bring every stack to the end of CHAPTER instead")
    up.add_argument("--parallel", type=number(int, 1), default=2, help="stacks provisioned at a time (default 2)")

    step("status", "machines running and reachable, per student", cmd_status)

    for name, help, run in (("release", "generate and publish assignments to the exchange", cmd_release),
                            ("collect", "collect one assignment's submissions", cmd_collect),
                            ("grade", "autograde against live stacks, feedback, grades.csv", cmd_grade)):
        sub = step(name, help, run)
        sub.add_argument("--exchange", help="nbgrader exchange folder (default: nbgrader_config.py's)")
        if name == "collect":
            sub.add_argument("assignment", help="e.g. 01-getting-started")
            sub.add_argument("--zips", metavar="DIR", help="collect DIR/ID.zip files instead of the exchange")
        else:
            sub.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                             help="default: all" + (" collected" if name == "grade" else ""))
        if name == "grade":
            sub.add_argument("--workers", type=number(int, 1), default=2, help="submissions graded at a time (default 2)")
            sub.add_argument("--student", action="append", metavar="ID", help="grade only these students")

    live = step("live", "serve a page of which checks pass right now, per student", cmd_live)
    live.add_argument("--port", type=number(int, 1, 65535), default=8765, help="port on 127.0.0.1 (default 8765)")
    live.add_argument("--interval", type=number(float, 1), default=30, help="seconds between polls (default 30)")
    live.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                      help="chapters to poll, by number or id (default: all)")

    hub = step("hub", "classroom server: an account and a JupyterLab per student, behind JupyterHub", cmd_hub)
    hub.add_argument("--runtime", metavar="DIR", help="the students' copy of the course (default /srv/workshop/CLASS)")
    hub.add_argument("--ip", default="127.0.0.1", help="address JupyterHub listens on (default 127.0.0.1)")
    hub.add_argument("--port", type=number(int, 1, 65533), default=8000, help="its port (default 8000; +1, +2 internal)")
    hub.add_argument("--setup-only", action="store_true", help="set up accounts and configuration, do not serve")

    down = step("down", "delete every student's stack, verify nothing is left", cmd_down)
    down.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    down.add_argument("--parallel", type=number(int, 1), default=2, help="stacks removed at a time (default 2)")
