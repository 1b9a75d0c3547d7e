"""The course's chapters, in order: the one table every list of chapters comes from.

A chapter's parts are found from its entry by name, so they cannot drift apart:
its id ("05-load-balancing") names its folders and its nbgrader assignment, and
its underscored slug ("load_balancing") names its code. Code is resolved only
when asked for: this module imports no deploy code, so the grader can use it.
Adding a chapter is one entry here plus its files; tests/unit/test_chapters.py
lists them.

>>> find_chapter(5).id, find_chapter("05-load-balancing").grader_module
('05-load-balancing', 'grader.load_balancing')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import UnknownNameError

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    title: str
    #: What the chapter adds to the app's settings on the web servers: the name of a
    #: function (lab, settings) in workshop.deploy.settings, "" when it adds nothing.
    app_settings: str = ""
    #: The machines the chapter adds to the stack (workshop/topology.py names).
    machines: tuple[str, ...] = ()
    #: The machines its checks judge when those are not the ones it adds (02 and 04 work on web1).
    checks_machines: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """notebooks/ID.ipynb, solutions/ID/, exercises/ID/, the grader's chapter, the nbgrader assignment."""
        return f"{self.number:02d}-{self.slug}"

    @property
    def name(self) -> str:
        """The chapter's code: grader/NAME.py, workshop.catchup.NAME, tests/e2e/test_NN_NAME.py."""
        return self.slug.replace("-", "_")

    @property
    def judged_machines(self) -> tuple[str, ...]:
        """The machines the stack diagram colours by this chapter's checks (none for chapter 10:
        its checks judge records of the whole stack)."""
        return self.checks_machines or self.machines

    @property
    def lesson(self) -> Path:
        return ROOT / "notebooks" / f"{self.id}.ipynb"

    @property
    def solutions(self) -> Path:
        return ROOT / "solutions" / self.id

    @property
    def exercises(self) -> Path:
        return ROOT / "exercises" / self.id

    def assignment_notebooks(self) -> list[Path]:
        """The chapter's exercise notebooks (with their solutions), in the order a student does them."""
        return sorted(self.solutions.glob("*.ipynb"))

    @property
    def grader_module(self) -> str:
        return f"grader.{self.name}"

    def catch_up_step(self) -> Callable:
        """The reference deploy to this chapter's end state: step(lab, progress, target)."""
        return getattr(importlib.import_module("workshop.catchup"), self.name)

    def add_app_settings(self, lab, settings: dict) -> None:
        """Add what this chapter changes in the app's settings (nothing if it changes none)."""
        if self.app_settings:
            getattr(importlib.import_module("workshop.deploy.settings"), self.app_settings)(lab, settings)


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "getting-started", "Getting started: the deployment question", machines=("web1",)),
    Chapter(2, "mod-wsgi", "The application server: mod_wsgi", checks_machines=("web1",)),
    Chapter(3, "postgresql", "The database server: PostgreSQL", app_settings="database_on_db1", machines=("db1",)),
    Chapter(4, "fabric", "Deploying with Fabric", checks_machines=("web1",)),
    Chapter(5, "load-balancing", "Several web servers, one load balancer", app_settings="shared_media",
            machines=("media1", "web2", "lb1")),
    Chapter(6, "caching", "Two cache servers", machines=("cache1", "cache2")),
    Chapter(7, "pgpool", "Connection middleware: pgpool", app_settings="database_through_pgpool",
            machines=("pgpool1",)),
    Chapter(8, "replication", "Database redundancy: a standby, and a failover", machines=("db2",)),
    Chapter(9, "varnish", "Varnish in front of everything", machines=("varnish1",)),
    Chapter(10, "final-load-test", "The final load test"),
)


def chapter_ids() -> list[str]:
    return [chapter.id for chapter in CHAPTERS]


def find_chapter(chapter: int | str) -> Chapter:
    """3, '3', '03' or '03-postgresql' -> that chapter; an error listing the chapters otherwise."""
    for entry in CHAPTERS:
        if str(chapter) in (entry.id, str(entry.number), f"{entry.number:02d}"):
            return entry
    raise UnknownNameError(f"No chapter {chapter}: choose from {', '.join(chapter_ids())} "
                           f"(or their numbers, {CHAPTERS[0].number}..{CHAPTERS[-1].number})")


def chapters_through(chapter: int | str) -> list[Chapter]:
    """Every chapter from the first up to and including `chapter`, in course order."""
    last = find_chapter(chapter)
    return [entry for entry in CHAPTERS if entry.number <= last.number]


def machines_through(chapter: int | str) -> list[str]:
    """Every machine the stack has at the end of `chapter`, in the order the course adds them.

    >>> machines_through(5)
    ['web1', 'db1', 'media1', 'web2', 'lb1']
    """
    return [name for entry in chapters_through(chapter) for name in entry.machines]
