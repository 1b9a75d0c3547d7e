"""Where a class lives on the instructor's machine, and what each student gets.

    CLASS/class.json                  the class name (prefix of every stack name)
    CLASS/course/                     the nbgrader course: gradebook, submitted/, feedback/, grades.csv
    CLASS/students/ID/                one student's folder, handed out as is:
        workshop-stack.json           the stack descriptor (beside the notebooks, it tells the grader)
        CONNECT.txt                   how to reach the machines
        stacks/STACK/                 key, ssh_config, known_hosts (this folder is the student's WORKSHOP_HOME)

Each student's folder is a WORKSHOP_HOME of its own, so `workshop status`,
`open_lab()` and the grader see the student's stack exactly as the
instructor's tooling does, and stacks of different classes never mix.

Example::

    classroom = Classroom.open(Path("fall.csv"))
    classroom.stack_name(classroom.students[0])
    # -> 'fall-alice'
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkshopError
from ..stack import Stack, check_name
from .roster import Student, parse_roster

STATE = "class.json"


@dataclass
class Classroom:
    folder: Path
    name: str
    students: list[Student]

    @classmethod
    def open(cls, roster: Path, folder: Path | None = None, name: str | None = None) -> "Classroom":
        """The class of `roster`: its folder defaults to ROSTER-STEM-class beside the roster, its
        name (the stacks' prefix) to the roster's stem, and both stay as the first `up` saved them."""
        roster = Path(roster)
        students = parse_roster(roster)
        folder = Path(folder or roster.parent / f"{roster.stem}-class").resolve()
        saved = json.loads((folder / STATE).read_text())["name"] if (folder / STATE).is_file() else None
        if name and saved and name != saved:
            raise WorkshopError(f"{folder} belongs to class {saved!r}, not {name!r}: drop --name or use another --dir")
        name = name or saved or re.sub(r"[^a-z0-9-]+", "-", roster.stem.lower()).strip("-") or "class"
        classroom = cls(folder, name, students)
        for student in students:
            try:
                check_name(classroom.stack_name(student))
            except WorkshopError:
                raise WorkshopError(f"The stack name {classroom.stack_name(student)!r} (class name + student id) "
                                    "is not usable: choose a shorter class name with --name, lowercase letters, "
                                    "digits and '-'") from None
        return classroom

    def save(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / STATE).write_text(json.dumps({"name": self.name}, indent=2) + "\n")
        except OSError as exc:
            raise WorkshopError(f"Cannot write the class folder {self.folder} ({exc.strerror}): "
                                "choose a folder you can write with --dir") from None

    @property
    def course_root(self) -> Path:
        return self.folder / "course"

    def student(self, student_id: str) -> Student:
        for student in self.students:
            if student.id == student_id:
                return student
        raise WorkshopError(f"No student {student_id!r} in the roster of class {self.name}: its ids are "
                            f"{', '.join(student.id for student in self.students)}")

    def home(self, student: Student) -> Path:
        """The student's folder, which is also their WORKSHOP_HOME."""
        return self.folder / "students" / student.id

    def homes(self) -> dict[str, Path]:
        """Each student's folder by id: where their stack's key must be (descriptor.py)."""
        return {student.id: self.home(student) for student in self.students}

    def records(self) -> dict[str, Path]:
        """The instructor's descriptor of each student's stack by id (written by `class up`): what
        grading probes, whatever descriptor a submission carries."""
        return {student.id: self.stack_folder(student) / "stack.json" for student in self.students}

    def stack_name(self, student: Student) -> str:
        return f"{self.name}-{student.slug}"

    def stack_folder(self, student: Student) -> Path:
        return self.home(student) / "stacks" / self.stack_name(student)

    def stack(self, student: Student) -> Stack | None:
        """The student's stack descriptor, or None before `class up` made it; StackError("invalid
        descriptor: ...") when it breaks a rule (its key must be in this student's own folder)."""
        path = self.stack_folder(student) / "stack.json"
        return Stack.load(path, home=self.home(student)) if path.is_file() else None

    def env(self, student: Student) -> dict[str, str]:
        """The environment in which `workshop` commands act on this student's stack."""
        return {**os.environ, "WORKSHOP_HOME": str(self.home(student)), "WORKSHOP_STACK": self.stack_name(student)}
