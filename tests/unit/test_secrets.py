"""Per-stack secrets made from many threads at once (catch-up deploys machines concurrently):
every secret is kept, each is made once, and the file is never read half written."""

import json
import stat
from concurrent.futures import ThreadPoolExecutor

from workshop.secrets import stack_secret
from workshop.stack import Stack


def a_stack(tmp_path, monkeypatch) -> Stack:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    return Stack("s", "local", "root", str(tmp_path / "id"), {}, {})


def test_secrets_made_at_once_are_all_kept(tmp_path, monkeypatch):
    stack = a_stack(tmp_path, monkeypatch)
    names = [f"secret-{number % 20}" for number in range(200)]  # each name asked for ten times
    with ThreadPoolExecutor(max_workers=16) as pool:
        given = list(pool.map(lambda name: (name, stack_secret(stack, name)), names))
    kept = json.loads((stack.folder / "secrets.json").read_text())
    assert sorted(kept) == sorted(set(names))
    assert all(kept[name] == value for name, value in given)  # every caller got the secret that was kept


def test_the_secrets_file_is_its_owners_only(tmp_path, monkeypatch):
    stack = a_stack(tmp_path, monkeypatch)
    stack_secret(stack, "django", 50)
    assert len(stack_secret(stack, "django")) == 50
    assert stat.S_IMODE((stack.folder / "secrets.json").stat().st_mode) == 0o600
    assert [path.name for path in stack.folder.iterdir() if path.name.startswith(".secrets.json")] == []
