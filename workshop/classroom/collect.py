"""Collect a class's submissions into the nbgrader course: from the nbgrader
exchange (`Course.collect`), or from a folder of zips, one per student, named
after their roster id (`alice.zip`), as an LMS download or an email round gives them.

A zip holds the assignment folder as the student had it: the notebooks and
workshop-stack.json (the grader finds the student's stack through it), either
at the top level or inside one folder.

Example::

    rows = collect_zips(course, "01-getting-started", Path("inbox/"), classroom.students)
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..course import Course
from ..errors import StackError
from ..stack import DESCRIPTOR_NAME, Stack
from .roster import Student

COLUMNS = ["student", "assignment", "collected", "note"]


def descriptor_note(course: Course, assignment: str, student: str, home: Path | None = None) -> str:
    """What a collected submission's descriptor will grade as: "-" when it is usable, else why not
    (`home` is the student's WORKSHOP_HOME, where their stack's key must be)."""
    path = course.root / "submitted" / student / assignment / DESCRIPTOR_NAME
    if not path.is_file():
        return f"no {DESCRIPTOR_NAME}: will grade as 'no stack found'"
    try:
        Stack.load(path, home)
    except StackError as exc:
        return str(exc)
    return "-"


def collect_zips(course: Course, assignment: str, folder: Path, students: list[Student],
                 homes: dict[str, Path] | None = None) -> list[dict]:
    """Unpack FOLDER/ID.zip of each roster student as their submission; one row per student
    (`homes`: each student's WORKSHOP_HOME, to check their descriptor against)."""
    rows = []
    known = {student.id for student in students}
    for student in students:
        archive = Path(folder) / f"{student.id}.zip"
        row = {"student": student.id, "assignment": assignment}
        if not archive.is_file():
            rows.append({**row, "collected": "no", "note": f"no {archive.name}"})
            continue
        try:
            with tempfile.TemporaryDirectory() as scratch:
                root = _unpack(archive, Path(scratch))
                course.submit(assignment, student.id, root)
        except (zipfile.BadZipFile, ValueError) as exc:
            rows.append({**row, "collected": "no", "note": f"{archive.name}: {exc}"})
            continue
        rows.append({**row, "collected": "yes", "note": descriptor_note(course, assignment, student.id,
                                                                        (homes or {}).get(student.id))})
    strangers = sorted(p.stem for p in Path(folder).glob("*.zip") if p.stem not in known)
    rows += [{"student": stem, "assignment": assignment, "collected": "no", "note": "not in the roster"}
             for stem in strangers]
    return rows


def _unpack(archive: Path, scratch: Path) -> Path:
    """Extract safely (no absolute or parent paths); return the folder holding the notebooks."""
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.namelist():
            path = PurePosixPath(member)
            if path.is_absolute() or ".." in path.parts:
                raise ValueError(f"unsafe path {member!r} in the zip")
        bundle.extractall(scratch)
    notebooks = [p for p in scratch.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    if not notebooks:
        raise ValueError("the zip holds no notebook")
    folders = {p.parent for p in notebooks}
    if len(folders) != 1:
        raise ValueError(f"notebooks in {len(folders)} different folders: zip one assignment folder")
    return folders.pop()


def refuse_impersonations(inbound: Path, owners: dict[str, int]) -> dict[str, str]:
    """On a classroom server (one account per student), set aside every submission in the
    exchange's `inbound` folder that nbgrader, running as root, must not copy: one that names a
    student (`alice+02-mod-wsgi+...`) but is owned by another account than theirs (`owners`:
    student id -> uid; nbgrader believes the name, the file system knows who wrote it), and one
    holding a symbolic link (the copy would read what it points to: another student's key).
    Returns {student id: why}; set-aside entries go to a root-only folder beside inbound, moved
    by a rename, which never follows a link."""
    refused, aside = {}, inbound.parent / "refused"
    for entry in sorted(inbound.iterdir()) if inbound.is_dir() and owners else ():
        student = entry.name.split("+")[0]
        owner = entry.lstat().st_uid
        why = None
        if student in owners and owner != owners[student]:
            why = f"written by uid {owner}, not by {student}'s account"
        elif link := _first_link(entry):
            why = f"it holds a symbolic link ({link.relative_to(inbound)})"
        if why:
            aside.mkdir(mode=0o700, exist_ok=True)
            os.rename(entry, aside / entry.name)
            refused[student] = f"refused {entry.name}: {why}"
    return refused


def _first_link(entry: Path) -> Path | None:
    if entry.is_symlink():
        return entry
    for folder, names, files in os.walk(entry):
        for name in names + files:
            if (Path(folder) / name).is_symlink():
                return Path(folder) / name
    return None
