"""Foundation figures, measured in one run on this machine (written to docs/performance.md):

- time to start a one-instance stack with the image present;
- memory of an idle instance;
- time to autograde the chapter 01 solution (nbgrader API, one student).

Run: .venv/bin/python -m benchmarks.foundation   (creates and removes a uniquely named stack)
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from workshop.course import ROOT, Course
from workshop.engine import find_engine
from workshop.image import ensure_image
from workshop.lab import open_lab
from workshop.providers.local import container_name

CHAPTER, NOTEBOOK = "01-getting-started", "first-vm.ipynb"


UNITS = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1, "GB": 1e3}


def megabytes(text: str) -> float:
    """'41.16MB' -> 41.16 (podman prints decimal units)."""
    match = re.match(r"([\d.]+)\s*([kKMG]?B)", text.strip())
    return float(match.group(1)) * UNITS[match.group(2)]


def idle_memory_mb(engine, container: str, settle: float = 10) -> float:
    """Memory of a container after `settle` seconds idle, as the engine accounts it."""
    time.sleep(settle)
    stats = json.loads(engine.run("stats", "--no-stream", "--format", "json", container).stdout)[0]
    return megabytes(stats["mem_usage"].split("/")[0])


def main() -> None:
    engine = find_engine()
    ensure_image(engine)
    name = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        folder = Path(scratch) / CHAPTER
        folder.mkdir()
        lab = open_lab(name, folder=folder)
        try:
            started = time.monotonic()
            lab.up("web1")
            up_seconds = time.monotonic() - started
            memory = idle_memory_mb(engine, container_name(lab.stack, "web1"))

            shutil.copy(ROOT / "solutions" / CHAPTER / NOTEBOOK, folder)
            notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
            nbformat.write(notebook, folder / NOTEBOOK)
            course = Course(Path(scratch) / "course")
            course.release([CHAPTER])
            course.submit(CHAPTER, "student", folder)
            started = time.monotonic()
            course.autograde(CHAPTER, "student", lab.stack)
            grade_seconds = time.monotonic() - started
            score = course.score(CHAPTER, "student")
        finally:
            lab.down()
    print(f"one-instance stack up (image present): {up_seconds:.1f} s")
    print(f"idle instance memory: {memory:.0f} MB")
    print(f"autograde chapter 01 (one student, nbgrader API): {grade_seconds:.1f} s, score {score[0]:.0f}/{score[1]:.0f}")


if __name__ == "__main__":
    main()
