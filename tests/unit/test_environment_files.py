"""pyproject.toml and environment.yml install the same pinned packages."""

import re
import tomllib

from tests.conftest import ROOT


def pins_in_pyproject() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["test"])


def pins_in_environment_yml() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    return {m.group(1) for line in lines if (m := re.match(r"^\s+- ([A-Za-z0-9_.-]+==\S+)\s*$", line))}


def test_every_dependency_is_pinned_exactly():
    assert all("==" in pin for pin in pins_in_pyproject())


def test_environment_yml_lists_the_same_pins_as_pyproject():
    assert pins_in_environment_yml() == pins_in_pyproject()


def test_the_mission_packages_are_there():
    names = {pin.split("==")[0].lower() for pin in pins_in_pyproject()}
    assert {"jupyterlab", "nbgrader", "paramiko", "fabric", "boto3", "requests", "matplotlib"} <= names
