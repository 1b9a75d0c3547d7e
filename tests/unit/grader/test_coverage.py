"""Every chapter with checks has a test module here (each of them runs every check of its chapter)."""

import importlib
from pathlib import Path

from grader import CHECKS


def test_every_chapter_of_checks_has_unit_tests():
    modules = [importlib.import_module(f"{__package__}.{path.stem}") for path in Path(__file__).parent.glob("test_*.py")]
    assert {getattr(module, "CHAPTER", None) for module in modules} - {None} == set(CHECKS)
