"""A picture of the student's own stack: its machines by tier, the request path as arrows,
each machine coloured by its checks (passed, failed, not yet), every chapter's status below.

The picture is made from a plain description (the machines a stack has, the status of
every check by chapter, the database roles seen), so one drawing serves a lesson's
`lab.diagram()`, the take-home folder of `workshop export` and the instructor's live
page, and a test can read which boxes, colours and arrows it holds without machines.
A machine's checks are those of the chapters that judge it (workshop/chapters.py);
it is "not yet" while it does not exist or none of its chapters' checks has run (the
stack has not reached the chapter, or the check needs the exercise notebook).

Drawn with matplotlib's object API (no pyplot): nothing is shown twice in Jupyter and
no display is needed. Example::

    picture = describe("lab", ["web1"], {"01-getting-started": {"instance-running": "passed"}})
    picture.boxes["web1"].status, picture.boxes["db1"].status
    # -> ('passed', 'not yet')
    draw(picture).save("stack.png")
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from grader.result import FAILED as CHECK_FAILED, PASSED as CHECK_PASSED

from .chapters import CHAPTERS
from .poll import UNREACHABLE, StackPoll, poll_stack

PASSED, FAILED, NOT_YET = "passed", "failed", "not yet"
#: Fill and text colour of each status (the live page's green and red; not yet is outlined white).
COLOURS = {PASSED: ("#2e9e5b", "white"), FAILED: ("#d9534f", "white"), NOT_YET: ("#f4f5f8", "#5b6475")}
LEGEND = {PASSED: "checks passed", FAILED: "a check failed",
          NOT_YET: "not yet (no such machine, or its chapter not reached)"}
BROWSER = "browser"
#: Where each machine sits: its tier (left to right, front to back), what runs on it, its place.
PLACES = {
    BROWSER: ("", "you, a load test", 0.0, 2.8),
    "varnish1": ("front door", "Varnish", 1.15, 2.8),
    "lb1": ("load balancer", "nginx", 2.3, 2.8),
    "web1": ("web servers", "Apache + mod_wsgi", 3.45, 3.55),
    "web2": ("web servers", "Apache + mod_wsgi", 3.45, 2.05),
    "cache1": ("caches", "memcached", 4.9, 5.0),
    "cache2": ("caches", "memcached", 4.9, 4.0),
    "pgpool1": ("connection pool", "pgpool-II", 4.9, 2.8),
    "media1": ("media store", "SeaweedFS (S3)", 4.9, 0.75),
    "db1": ("databases", "PostgreSQL", 6.3, 3.55),
    "db2": ("databases", "PostgreSQL", 6.3, 2.05),
}
FRONT_TO_BACK = (("varnish1",), ("lb1",), ("web1", "web2"))
WEB, CACHES, DATABASES = ("web1", "web2"), ("cache1", "cache2"), ("db1", "db2")
BOX_W, BOX_H = 0.92, 0.72


@dataclass(frozen=True)
class Box:
    name: str
    tier: str
    label: str  # what runs there (and a database's role)
    status: str
    present: bool
    passed: int = 0  # checks of its chapters that passed, of `ran`
    ran: int = 0


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    kind: str  # request, cache, sql, media, replication


@dataclass
class Picture:
    title: str
    note: str
    boxes: dict[str, Box]
    arrows: list[Arrow]
    chapters: dict[str, str] = field(default_factory=dict)  # chapter id -> status


def combined(statuses: Iterable[str]) -> str:
    """failed if any check failed (or its stack did not answer), passed if any passed, else not yet."""
    seen = set(statuses)
    if seen & {CHECK_FAILED, UNREACHABLE}:
        return FAILED
    return PASSED if CHECK_PASSED in seen else NOT_YET


def describe(stack_name: str, machines: Iterable[str], statuses: dict[str, dict[str, str]],
             roles: dict[str, str] | None = None, note: str = "") -> Picture:
    """The picture of a stack with `machines`, `statuses` {chapter: {check id: status}} and the
    database `roles` seen ({db1: primary, ...}); chapters missing from `statuses` are not yet."""
    present, roles = set(machines), roles or {}
    judged: dict[str, list[str]] = {name: [] for name in PLACES}
    for chapter in CHAPTERS:
        for name in chapter.judged_machines:
            judged[name] += statuses.get(chapter.id, {}).values()
    boxes = {BROWSER: Box(BROWSER, "", PLACES[BROWSER][1], NOT_YET, True)}
    for name, (tier, label, _, _) in PLACES.items():
        if name == BROWSER:
            continue
        if name in DATABASES and roles.get(name):
            label = f"{label} {roles[name]}"
        ran = [status for status in judged[name] if status in (CHECK_PASSED, CHECK_FAILED, UNREACHABLE)]
        status = combined(ran) if name in present else NOT_YET
        boxes[name] = Box(name, tier, label, status, name in present, ran.count(CHECK_PASSED), len(ran))
    chapters = {chapter.id: combined(statuses.get(chapter.id, {}).values()) for chapter in CHAPTERS}
    title = f"Stack {stack_name}: {len(present & set(PLACES))} of {len(PLACES) - 1} machines"
    return Picture(title, note, boxes, request_path(present, roles), chapters)


def request_path(present: set[str], roles: dict[str, str]) -> list[Arrow]:
    """The arrows between the machines that exist: the browser to the first tier there is, each
    tier to the next; web servers to the caches, to pgpool (or straight to the primary), pgpool
    to the databases, the primary to the standby; uploads and /media/ to the media store."""
    arrows, previous = [], (BROWSER,)
    for tier in FRONT_TO_BACK:
        here = [name for name in tier if name in present]
        if here:
            arrows += [Arrow(source, target, "request") for source in previous for target in here]
            previous = tuple(here)
    webs = [name for name in WEB if name in present]
    dbs = [name for name in DATABASES if name in present and roles.get(name) != "down"]
    primary = next((name for name in dbs if roles.get(name) == "primary"), dbs[0] if dbs else None)
    arrows += [Arrow(web, cache, "cache") for web in webs for cache in CACHES if cache in present]
    if "pgpool1" in present:
        arrows += [Arrow(web, "pgpool1", "sql") for web in webs] + [Arrow("pgpool1", db, "sql") for db in dbs]
    elif primary:
        arrows += [Arrow(web, primary, "sql") for web in webs]
    arrows += [Arrow(primary, standby, "replication") for standby in dbs if standby != primary]
    if "media1" in present:
        arrows += [Arrow(source, "media1", "media") for source in ("lb1", *webs) if source in present]
    return arrows


ARROW_STYLES = {
    "request": {"color": "#1d2330", "lw": 1.6},
    "cache": {"color": "#8a90a0", "lw": 1.0},
    "sql": {"color": "#3b5f9e", "lw": 1.4},
    "media": {"color": "#8e5bd8", "lw": 1.0, "linestyle": (0, (2, 2))},
    "replication": {"color": "#b8860b", "lw": 1.8, "linestyle": (0, (5, 3))},
}
ARROW_BENDS = {("lb1", "media1"): 0.35}  # under web2 rather than through it


class StackDiagram:
    """A drawn picture: shows itself inline in Jupyter (`_repr_png_`), saves as PNG."""

    def __init__(self, picture: Picture, figure: Figure):
        self.picture = picture
        self.figure = figure

    def png(self, dpi: int = 100) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    def save(self, path: str | Path, dpi: int = 100) -> Path:
        path = Path(path)
        path.write_bytes(self.png(dpi))
        return path

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        return f"<StackDiagram {self.picture.title}; {self.picture.note}>"


def draw(picture: Picture) -> StackDiagram:
    figure = Figure(figsize=(12.5, 6.6))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.01, 0.1, 0.98, 0.78))
    axes.set_xlim(-0.6, 6.9)
    axes.set_ylim(0.2, 5.65)
    axes.set_axis_off()
    figure.text(0.015, 0.955, picture.title, fontsize=15, weight="bold", color="#1d2330")
    figure.text(0.015, 0.915, picture.note, fontsize=10, color="#5b6475")
    patches = {name: _draw_box(axes, box) for name, box in picture.boxes.items()}
    for tier, top in _tier_tops().items():
        axes.text(top[0], top[1] + BOX_H / 2 + 0.12, tier, ha="center", va="bottom", fontsize=9.5,
                  color="#5b6475", style="italic", zorder=3,
                  bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"})
    for arrow in picture.arrows:
        axes.annotate("", xy=PLACES[arrow.target][2:], xytext=PLACES[arrow.source][2:], gid=f"arrow:{arrow.kind}",
                      arrowprops={"arrowstyle": "-|>", "mutation_scale": 13, "patchA": patches[arrow.source],
                                  "patchB": patches[arrow.target], "shrinkA": 2, "shrinkB": 2,
                                  "connectionstyle": f"arc3,rad={ARROW_BENDS.get((arrow.source, arrow.target), 0)}",
                                  **ARROW_STYLES[arrow.kind]}, zorder=1)
    if any(arrow.kind == "replication" for arrow in picture.arrows):
        axes.text(PLACES["db1"][2] + 0.06, (PLACES["db1"][3] + PLACES["db2"][3]) / 2, "streaming\nreplication",
                  fontsize=8.5, va="center", color=ARROW_STYLES["replication"]["color"])
    _draw_chapters(figure, picture.chapters)
    figure.legend(handles=[Patch(facecolor=COLOURS[s][0], edgecolor="#b3b9c5", label=LEGEND[s]) for s in LEGEND],
                  loc="lower right", bbox_to_anchor=(0.99, 0.005), ncol=3, frameon=False, fontsize=9.5)
    return StackDiagram(picture, figure)


def _tier_tops() -> dict[str, tuple[float, float]]:
    """Where each tier's name goes: above the middle of its topmost row of boxes."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for tier, _, x, y in PLACES.values():
        if tier:
            rows.setdefault(tier, []).append((x, y))
    tops = {}
    for tier, places in rows.items():
        top = max(y for _, y in places)
        row = [x for x, y in places if y == top]
        tops[tier] = (sum(row) / len(row), top)
    return tops


def _draw_box(axes, box: Box) -> FancyBboxPatch:
    x, y = PLACES[box.name][2:]
    fill, ink = COLOURS[box.status] if box.name != BROWSER else ("white", "#1d2330")
    patch = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0.02,rounding_size=0.08",
                           facecolor=fill, edgecolor="#b3b9c5" if fill in ("white", COLOURS[NOT_YET][0]) else fill,
                           linewidth=1.3, linestyle="-" if box.present else (0, (4, 3)), gid=f"box:{box.name}", zorder=2)
    axes.add_patch(patch)
    if box.name == BROWSER:
        detail = ""
    elif not box.present:
        detail = "not started yet"
    elif box.ran:
        detail = f"{box.passed}/{box.ran} checks passed"
    else:
        detail = "no check run yet"
    alpha = 1 if box.present else 0.65
    axes.text(x, y + 0.17, box.name, ha="center", va="center", fontsize=11.5, weight="bold", color=ink, alpha=alpha,
              zorder=3)
    axes.text(x, y - 0.04, box.label, ha="center", va="center", fontsize=8.5, color=ink, alpha=alpha, zorder=3)
    axes.text(x, y - 0.22, detail, ha="center", va="center", fontsize=7.5, color=ink, alpha=alpha, zorder=3)
    return patch


def _draw_chapters(figure: Figure, chapters: dict[str, str]) -> None:
    """One small square per chapter, coloured by the status of all its checks."""
    figure.text(0.015, 0.045, "chapters", fontsize=9.5, color="#5b6475", va="center")
    for index, (chapter, status) in enumerate(chapters.items()):
        fill, ink = COLOURS[status]
        figure.text(0.08 + index * 0.032, 0.045, chapter[:2], fontsize=9, color=ink, ha="center", va="center",
                    gid=f"chapter:{chapter}",
                    bbox={"boxstyle": "round,pad=0.35", "facecolor": fill,
                          "edgecolor": "#b3b9c5" if status == NOT_YET else fill})


def of_poll(stack_name: str, machines: Iterable[str], poll: StackPoll) -> StackDiagram:
    """The diagram of a stack from a poll of its checks (workshop/poll.py)."""
    note = f"checks polled read-only in {poll.seconds:.1f} s at {time.strftime('%H:%M:%S')}"
    return draw(describe(stack_name, machines, poll.statuses(), poll.roles(), note))


#: Chapters polled at once for a lab's diagram: each opens its own SSH connections, and
#: sshd starts refusing new ones beyond 10 unauthenticated at a time (MaxStartups).
WORKERS = 4


def of_lab(lab, poll: StackPoll | None = None) -> StackDiagram:
    """The diagram of `lab`'s stack: from `poll` if given, else its checks polled now (read-only)."""
    stack = lab.require_stack()
    if poll is None:
        poll = poll_stack(stack, stack.folder, [chapter.id for chapter in CHAPTERS], workers=WORKERS)
    return of_poll(stack.name, stack.instances, poll)
