"""A catch-up step that fails says first what its chapter stands on that does not hold (in the
service's own words), then what the step said; with nothing to blame, the step's error as it was."""

import pytest

from workshop import catchup
from workshop.chapters import find_chapter
from workshop.errors import RemoteError, StackError
from workshop.stack import Stack


class FakeLab:
    stack = Stack("units", "local", "root", "/nonexistent/id_ed25519", {}, {})


def failing_step(*_):
    raise RemoteError("web1 did not answer /health/ within 30s (HTTP 503); see newsroom-error.log")


@pytest.fixture
def cause(monkeypatch):
    found = {"cause": None}
    monkeypatch.setattr("grader.foundations.root_cause", lambda target, chapter: found["cause"])
    monkeypatch.setattr("grader.target.Target.close", lambda self: None)
    return found


def test_the_root_cause_leads_the_failure(cause):
    cause["cause"] = "pgpool2 on pgpool1 is failed; its log says: \"FATAL: could not open pool_passwd\""
    with pytest.raises(StackError) as failure:
        try:
            failing_step()
        except RemoteError as exc:
            catchup._raise_with_root_cause(FakeLab(), find_chapter("07-pgpool"), exc)
    assert str(failure.value).startswith("catch-up stopped in 07-pgpool. Root cause: pgpool2 on pgpool1 is failed")
    assert "What the step said: web1 did not answer /health/" in str(failure.value)


def test_with_nothing_to_blame_the_steps_own_error_stands(cause):
    with pytest.raises(RemoteError, match="did not answer /health/"):
        try:
            failing_step()
        except RemoteError as exc:
            catchup._raise_with_root_cause(FakeLab(), find_chapter("07-pgpool"), exc)
