"""Config templates of configs/, rendered with Jinja2: one source for solution
cells, catch-up, tests and the take-home copy.

>>> conf = render("memcached/memcached.conf.j2", name="cache1", memory_mb=64, port=11211,
...               private_ip="10.0.0.31", max_connections=1024)
>>> conf.splitlines()[1]
'# memcached on cache1, written by the workshop (chapter 06).'
"""

from __future__ import annotations

from pathlib import Path

import jinja2

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
#: How the course's own answer to an exercise (a vhost, nginx site, memcached config, VCL) starts: catch-up installs
#: it, and a chapter running it earns none of its points (grader/course_answers.py).
COURSE_ANSWER = "# workshop catch-up: the course's own answer to exercise"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(CONFIGS)),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **params) -> str:
    """The template configs/`template` filled with `params` (a missing one is an error)."""
    return _environment.get_template(template).render(**params)


def path(name: str) -> Path:
    return CONFIGS / name
