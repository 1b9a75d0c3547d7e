"""The app's cache settings file (exercise 06a): Django's CACHES setting, written as the
Python file newsroom/settings.py reads, and read back without running it.

The student writes CACHES as a dict, the way it stands in any Django settings module; the
deploy writes it out as plain data, and the grader parses the live file (never executes
what a machine holds) to compare it with the student's dict.

>>> text = settings_text({"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}})
>>> parse_caches(text)
{'default': {'BACKEND': 'django.core.cache.backends.dummy.DummyCache'}}
>>> parse_caches("CACHES = {'default': open('/etc/shadow')}")
Traceback (most recent call last):
...
workshop.errors.ConfigError: the cache settings' CACHES is not plain data (strings, numbers, True/False, lists, dicts): write values, not calls or names
"""

from __future__ import annotations

import ast
import json
import pprint

from .errors import ConfigError

HEADER = ("# The app's cache settings, read by newsroom/settings.py (CACHE_SETTINGS names this file).\n"
          "# Written from your `caches` in exercise 06a.\n")


def settings_text(caches: dict) -> str:
    """The file for the CACHES dict `caches`; ConfigError when it is no such dict or holds more
    than plain data (what a settings file may hold and the grader can read back)."""
    if not isinstance(caches, dict) or not isinstance(caches.get("default"), dict):
        raise ConfigError("`caches` must be a dict like Django's CACHES setting, with a 'default' cache: "
                          "{'default': {'BACKEND': ..., 'LOCATION': [...], 'OPTIONS': {...}}}")
    text = HEADER + "CACHES = " + pprint.pformat(caches, sort_dicts=False) + "\n"
    if parse_caches(text) != caches:
        raise ConfigError("`caches` must hold plain data only (strings, numbers, True/False, lists, dicts)")
    return text


def parse_caches(text: str) -> dict:
    """The CACHES a settings file's text assigns; ConfigError when it has none or it is not plain data."""
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        raise ConfigError(f"the cache settings are not Python: {exc}") from exc
    values = [node.value for node in module.body if isinstance(node, ast.Assign)
              and any(isinstance(name, ast.Name) and name.id == "CACHES" for name in node.targets)]
    if not values:
        raise ConfigError("the cache settings set no CACHES")
    try:
        caches = ast.literal_eval(values[-1])
    except ValueError:
        raise ConfigError("the cache settings' CACHES is not plain data (strings, numbers, True/False, lists, "
                          "dicts): write values, not calls or names") from None
    if not isinstance(caches, dict):
        raise ConfigError("the cache settings' CACHES is not a dict")
    return caches


def same_caches(one: dict, other: dict) -> bool:
    """Whether two CACHES are the same data (a tuple and a list of the same items are:
    answers reach the grader as JSON)."""
    return json.dumps(one, sort_keys=True) == json.dumps(other, sort_keys=True)
