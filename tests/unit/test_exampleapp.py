"""The example application's own Django test suite, in the app's own environment."""

import os
import re
import subprocess

from tests.conftest import ROOT

APP_PYTHON = ROOT / ".venv-exampleapp" / "bin" / "python"


def test_the_exampleapp_test_suite_passes():
    assert APP_PYTHON.exists(), "run `make setup` to create .venv-exampleapp"
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_SETTINGS", "STORAGE_BACKEND", "DATABASE_URL")}
    env["DJANGO_DEBUG"] = "1"
    result = subprocess.run([str(APP_PYTHON), "manage.py", "test", "--noinput", "-v", "1"], cwd=ROOT / "exampleapp",
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert re.search(r"^Ran \d+ tests", result.stderr, re.M) and re.search(r"^OK", result.stderr, re.M)
