"""Fixtures shared by the unit tests that make nbgrader courses."""

from __future__ import annotations

from functools import cache

import pytest


@pytest.fixture(scope="session")
def one_alembic_process():
    """Each new gradebook asks an `alembic heads` process for nbgrader's schema version, and that
    process spends seconds importing all of nbgrader again: ask it once per run (the answer is the
    installed nbgrader's), so the first course still finds `alembic` as an instructor's would."""
    import nbgrader.api  # nbgrader is slow to import: only the tests that make courses pay for it

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nbgrader.api, "get_alembic_version", cache(nbgrader.api.get_alembic_version))
        yield
