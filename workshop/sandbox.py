"""Student code runs with nothing to steal: nbgrader's kernels run inside bubblewrap.

nbgrader executes a submission's notebooks in kernels it starts as the instructor; without
a sandbox the student's code could read every other student's key and notebooks, the
gradebook (and write it), AWS credentials. Each kernel started for autograde runs under
`bwrap` in a throwaway namespace (no capabilities, its own user, pid, ipc and mount
namespaces; the network is shared, as the notebook reaches its stack over SSH) that sees
only:

- the system's programs and libraries, Python and the course's virtualenv, the course's
  code and config templates, read-only;
- the submission's folder being autograded, read-write (it is the notebook's working
  directory: `%%writefile fabfile.py` writes there);
- the student's own stack folder, read-only: the key in it reaches that stack alone, and
  the records in it cannot be rewritten from the notebook;
- an empty /tmp holding HOME, and the kernel's connection file.

Not the gradebook, other students' folders, the instructor's keys, the nbgrader exchange,
nor any AWS_* variable (dropped from the kernel's environment). Course.autograde names the
stack folder (STACK_FOLDER) before nbgrader starts its kernels.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from jupyter_client import AsyncKernelManager
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import Execute

from .chapters import ROOT
from .errors import WorkshopError

STACK_FOLDER = "WORKSHOP_SANDBOX_STACK_FOLDER"
HOME = "/tmp/home"
#: What of this repository a grading kernel needs: the code it imports and the templates it renders.
COURSE_CODE = ("workshop", "grader", "configs", "exampleapp")
SYSTEM = ("/usr",)
MERGED_USR = ("bin", "lib", "lib64", "sbin")
ETC = ("passwd", "group", "hosts", "nsswitch.conf", "resolv.conf", "localtime", "ssl", "ca-certificates", "fonts")
INSTALL_HINT = ("bubblewrap (bwrap) is not installed: run scripts/setup.sh (or `apt-get install bubblewrap`); "
                "autograde runs student code only inside it")


def bwrap() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise WorkshopError(INSTALL_HINT)
    return found


def confined(command: list[str], cwd: str, connection_file: str, stack_folder: str | None) -> list[str]:
    """`command` (a kernel's) wrapped in bwrap, seeing only what the module docstring lists."""
    args = [bwrap(), "--unshare-all", "--share-net", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", HOME]
    for path in SYSTEM:
        args += ["--ro-bind", path, path]
    for name in MERGED_USR:
        link = Path("/") / name
        if link.is_symlink():
            args += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir():
            args += ["--ro-bind", str(link), str(link)]
    for name in ETC:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for path in dict.fromkeys([sys.base_prefix, sys.prefix, *(str(ROOT / name) for name in COURSE_CODE)]):
        if Path(path).exists():
            args += ["--ro-bind", path, path]
    if stack_folder:
        args += ["--ro-bind", stack_folder, stack_folder]
    # JPY_PARENT_PID (set by jupyter_client as it launches) means nothing in the kernel's own pid
    # namespace: ipykernel would take its parent for gone and stop at once. 1 tells it not to
    # watch its parent (jupyter_client stops the kernel, and bwrap with it).
    args += ["--ro-bind", connection_file, connection_file, "--bind", cwd, cwd, "--chdir", cwd,
             "--setenv", "JPY_PARENT_PID", "1", "--"]
    return args + command


def confined_environment(env: dict[str, str]) -> dict[str, str]:
    """The kernel's environment without credentials, its HOME inside the sandbox."""
    kept = {key: value for key, value in env.items() if not key.startswith("AWS_") and key != STACK_FOLDER}
    return {**kept, "HOME": HOME, "TMPDIR": "/tmp"}


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside bwrap (see the module docstring)."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        cwd = str(Path(kw.get("cwd") or os.getcwd()).resolve())
        kw["env"] = confined_environment(kw.get("env") or dict(os.environ))
        kw["cwd"] = cwd
        command = confined(kernel_cmd, cwd, str(Path(self.connection_file).resolve()), os.environ.get(STACK_FOLDER))
        await super()._async_launch_kernel(command, **kw)


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with sandboxed kernels (nbgrader passes its own
    kernel manager class as an argument, so configuration alone cannot change it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)


def sandboxed_preprocessors() -> list[type]:
    """nbgrader's autograde preprocessors, with SandboxedExecute in Execute's place."""
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    assert Execute in default, "nbgrader's autograde no longer executes through Execute: update workshop/sandbox.py"
    return [SandboxedExecute if step is Execute else step for step in default]
