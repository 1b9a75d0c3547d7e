"""The `>>>` examples in workshop/ and grader/ docstrings run and show what they say.

Examples that need machines are written as `Example::` blocks instead, so any
`>>>` left in a module is one that must pass here.
"""

import doctest
import importlib

import pytest

from tests.conftest import ROOT

MODULES = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                 for package in ("workshop", "grader") for path in (ROOT / package).rglob("*.py")
                 if ">>>" in path.read_text())


def test_some_modules_have_examples_to_run():
    assert "workshop.aws.tags" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_a_module_pass(name):
    outcome = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE, report=True)
    assert outcome.attempted and not outcome.failed
