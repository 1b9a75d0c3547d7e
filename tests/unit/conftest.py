"""Fixtures shared by the unit tests that make nbgrader courses."""

from __future__ import annotations

from functools import cache

import pytest


@pytest.fixture(scope="session")
def one_alembic_run():
    """Every new gradebook asks the `alembic` command for nbgrader's schema version, a process that
    takes seconds to import nbgrader: ask it once per run (the answer is the installed nbgrader's)."""
    import nbgrader.api  # nbgrader is slow to import: only the tests that make courses pay for it

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nbgrader.api, "get_alembic_version", cache(nbgrader.api.get_alembic_version))
        yield
