"""Checks probe from outside: no grader module imports the deploy code, so a bug in
a reference deploy cannot hide itself by being shared with the check of it."""

import ast
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parents[2] / "grader"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return names


@pytest.mark.parametrize("path", sorted(GRADER.glob("*.py")), ids=lambda p: p.name)
def test_no_check_imports_the_deploy_code(path):
    assert not [name for name in imported_modules(path) if name.startswith(("workshop.deploy", "workshop.catchup"))]
