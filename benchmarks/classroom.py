"""Grading a class, measured in one run on this machine (written to docs/performance.md):
a class whose students are at mixed stages (about half at the end of chapter 01, a third
at the end of 05, the rest at the end of the course, the last student's stack down) hands
in every chapter it finished; `workshop class grade` autogrades them all against the live
stacks, writes the feedback and grades.csv. Prints the class tooling's own progress and
per-student table, then the slowest checks (from the reports in the autograded notebooks)
and the total. Setting up the stacks is not measured.

Run (it starts containers; on a shared machine take the e2e lock):

    flock /tmp/e2e.lock .venv/bin/python -m benchmarks.classroom              # 30 students
    flock /tmp/e2e.lock .venv/bin/python -m benchmarks.classroom --students 6

The class and its stacks are uniquely named and removed at the end, even on failure;
nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.report import CheckTime, check_times
from workshop.chapters import CHAPTERS, chapters_through
from workshop.classroom.collect import collect_zips
from workshop.classroom.layout import Classroom
from workshop.classroom.provision import _label_only, down, up
from workshop.classroom.roster import Student
from workshop.course import Course
from workshop.progress import Progress
from workshop.providers import get_provider

EARLY, MIDDLE, COMPLETE = "01-getting-started", "05-load-balancing", CHAPTERS[-1].id
#: Machines of a stack at the end of each stage (the chapters add them: docs/design.md §4).
MACHINES = {EARLY: 1, MIDDLE: 5, COMPLETE: 10}
#: An idle full stack holds ~1.35 GiB (docs/performance.md): ~140 MB per machine, rounded up.
MB_PER_MACHINE = 150
UNREACHABLE = "unreachable"


def class_stages(students: int) -> list[str]:
    """Each student's stage, in roster order: a sixth complete, a third at chapter 05, the rest
    at chapter 01, the last of whom has their stack down (UNREACHABLE), once the class has four."""
    complete = max(1, students // 6) if students >= 2 else 0
    middle = max(1, students // 3) if students >= 3 else 0
    early = students - complete - middle
    stages = [COMPLETE] * complete + [MIDDLE] * middle + [EARLY] * early
    if students >= 4:
        stages[-1] = UNREACHABLE
    return stages[:students]


def machines_needed(stages: list[str]) -> int:
    return sum(MACHINES[EARLY if stage == UNREACHABLE else stage] for stage in stages)


def memory_shortfall(stages: list[str], available_mb: float) -> str | None:
    """Why the class's stacks would not fit in `available_mb` of memory, or None."""
    needed = machines_needed(stages) * MB_PER_MACHINE
    if needed <= available_mb:
        return None
    return (f"{len(stages)} students at these stages need about {needed / 1024:.1f} GiB "
            f"({machines_needed(stages)} machines), {available_mb / 1024:.1f} GiB is available: "
            "use --students with a smaller class")


def available_mb(meminfo: Path = Path("/proc/meminfo")) -> float:
    fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
    return int(fields["MemAvailable"].split()[0]) / 1024


def handed_in(stage: str) -> list[str]:
    """The chapters a student at `stage` hands in: every one they finished."""
    return [chapter.id for chapter in chapters_through(EARLY if stage == UNREACHABLE else stage)]


def slowest_checks(times: list[CheckTime], count: int = 10) -> list[tuple[str, str, float, float, int]]:
    """(chapter, check title, slowest, mean seconds, how many runs) of the `count` slowest checks."""
    runs: dict[tuple[str, str], list[float]] = {}
    for item in times:
        runs.setdefault((item.chapter, item.title), []).append(item.seconds)
    rows = [(chapter, title, max(seconds), sum(seconds) / len(seconds), len(seconds))
            for (chapter, title), seconds in runs.items()]
    return sorted(rows, key=lambda row: -row[2])[:count]


def autograded_check_times(course_root: Path) -> list[CheckTime]:
    """The check times printed by every graded cell of every autograded notebook."""
    times = []
    for path in sorted((course_root / "autograded").glob("*/*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                times += check_times("".join(output.get("text", "")))
    return times


def set_up(classroom: Classroom, stages: list[str], parallel: int) -> None:
    """Every stack at its student's stage, by the class tooling (`class up --catch-up STAGE` for
    each stage's students, `parallel` stacks at a time in all), the unreachable student's machine stopped."""
    groups: dict[str, list[Student]] = {}
    for student, stage in zip(classroom.students, stages):
        groups.setdefault(EARLY if stage == UNREACHABLE else stage, []).append(student)

    def set_up_stage(stage: str, students: list[Student]) -> None:
        group = Classroom(classroom.folder, classroom.name, students)
        for attempt in ("first", "resumed"):  # a boot on a busy machine may miss its limit: resume it
            rows = up(group, catch_up=None if stage == EARLY else stage, parallel=1,
                      progress=Progress(f"set-up {stage}"))
            failed = [row["student"] for row in rows if row["result"] != "up"]
            if not failed:
                return
            print(f"{attempt} set-up of {stage} failed for {', '.join(failed)}", flush=True)
        raise RuntimeError(f"could not bring {', '.join(failed)} to the end of {stage}")

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for done in [pool.submit(set_up_stage, stage, students) for stage, students in groups.items()]:
            done.result()
    for student, stage in zip(classroom.students, stages):
        if stage == UNREACHABLE:
            stack = classroom.stack(student)
            get_provider(stack.provider).stop(stack, "web1")


def hand_in(classroom: Classroom, course: Course, stages: list[str], inbox: Path) -> int:
    """Each student's finished chapters as ID.zip (notebooks, descriptor, records), collected by
    `collect_zips` as `workshop class collect --zips` does; returns the submissions collected."""
    collected = 0
    for chapter in CHAPTERS:
        folder = inbox / chapter.id
        folder.mkdir(parents=True)
        for student, stage in zip(classroom.students, stages):
            if chapter.id in handed_in(stage):
                with zipfile.ZipFile(folder / f"{student.id}.zip", "w") as bundle:
                    for notebook in chapter.assignment_notebooks():
                        bundle.write(notebook, f"{chapter.id}/{notebook.name}")
                    for recorded in classroom.home(student).glob("*.json"):
                        bundle.write(recorded, f"{chapter.id}/{recorded.name}")
        rows = collect_zips(course, chapter.id, folder, classroom.students, classroom.homes())
        collected += sum(row["collected"] == "yes" for row in rows)
    return collected


def grade(classroom: Classroom, roster: Path, workers: int) -> tuple[int, float]:
    """`workshop class grade` on the whole class, its output passed through; (exit code, seconds)."""
    command = [sys.executable, "-m", "workshop.cli", "class", "grade", str(roster), "--dir", str(classroom.folder),
               "--name", classroom.name, "--workers", str(workers)]
    started = time.monotonic()
    code = subprocess.run(command, stdin=subprocess.DEVNULL).returncode
    return code, time.monotonic() - started


def tear_down(classroom: Classroom) -> None:
    """`class down`, then whatever still carries one of the class's labels (nothing, normally)."""
    try:
        down(classroom, progress=Progress("tear-down", quiet=True))
    finally:
        for student in classroom.students:
            stack = _label_only(classroom.stack_name(student))
            provider = get_provider(stack.provider)
            if provider.leftovers(stack):
                provider.destroy(stack, Progress("tear-down", quiet=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at a time (default 2)")
    parser.add_argument("--parallel", type=int, default=2, help="stacks set up at a time (default 2)")
    args = parser.parse_args(argv)
    stages = class_stages(args.students)
    shortfall = memory_shortfall(stages, available_mb())
    if shortfall:
        print(shortfall, file=sys.stderr)
        return 2
    print(f"class of {args.students}: " + ", ".join(f"{count} {stage}" for stage, count in Counter(stages).items()),
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        roster = Path(scratch) / "roster.csv"
        ids = [f"s{number:02d}" for number in range(1, args.students + 1)]
        roster.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids))
        classroom = Classroom.open(roster, name=f"bench-{uuid.uuid4().hex[:6]}")
        try:
            started = time.monotonic()
            set_up(classroom, stages, args.parallel)
            course = Course(classroom.course_root)
            course.release()
            submissions = hand_in(classroom, course, stages, Path(scratch) / "inbox")
            print(f"set up in {time.monotonic() - started:.0f} s (not measured); {submissions} submissions", flush=True)
            code, seconds = grade(classroom, roster, args.workers)
            times = autograded_check_times(classroom.course_root)
            csv_rows = (classroom.course_root / "grades.csv").read_text().count("\n") - 1
        finally:
            tear_down(classroom)
    print("\nslowest checks (chapter, check, slowest, mean, runs):")
    for chapter, title, slowest, mean, runs in slowest_checks(times):
        print(f"  {slowest:5.1f} s  {mean:5.1f} s  x{runs:<3} {chapter}: {title}")
    print(f"\ngraded {submissions} submissions of {args.students} students ({len(times)} checks run, "
          f"{csv_rows} rows in grades.csv) with {args.workers} workers: {seconds:.1f} s "
          f"(`workshop class grade` exit {code}: 1 when a stack is unreachable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
