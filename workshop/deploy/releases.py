"""Release deploys through a fabfile: the course's reference one (configs/fabric/fabfile.py,
catch-up's), or the student's own, which exercise 04 saved beside its notebook; the
same tasks a student runs with `fab -S ssh_config -H web1 deploy`.

Example::

    deploy_releases(lab, ["web1", "web2"])                    # the reference fabfile
    deploy_releases(lab, ["web1", "web2"], own_fabfile(lab))  # the student's

The reference fabfile's releases are labelled as the course's (ANSWER_TO_04, in the
release's LABEL file), unless the server runs one of the student's: then the same code
is deployed with that release's label, which is that very release (nothing switches).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from .. import configs, grading
from ..chapters import find_chapter
from ..configs import COURSE_ANSWER
from ..errors import WorkshopError
from ..lab import Instance, Lab
from .app import CURRENT

#: The label of the course's own releases (catch-up's, the reference helpers'), which earn none of chapter 04's points.
ANSWER_TO_04 = f"{COURSE_ANSWER} 04, which earns no points: write your own."


def load_fabfile(path=None) -> ModuleType:
    """Import a fabfile as a module (default: the reference one)."""
    path = path or configs.path("fabric/fabfile.py")
    spec = importlib.util.spec_from_file_location("workshop_fabfile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def own_fabfile(lab: Lab) -> Path:
    """The student's fabfile: exercise 04's `%%writefile fabfile.py` saved it in that exercise's
    folder, which sits beside the folder of the notebook `lab` was opened in."""
    chapter = find_chapter(4).id
    path = lab.folder.parent / chapter / "fabfile.py"
    if not path.is_file():
        raise WorkshopError(f"No fabfile of yours at {path}: this deploy uses the fabfile you wrote in exercise "
                            f"{chapter} (its task cell saves it there). Do that exercise first; or, if you caught up "
                            "past it, catch up through this chapter too (`workshop catch-up 5` for chapter 05): "
                            "catch-up deploys with the course's fabfile.")
    return path


@grading.changes("fab deploy on {names}", fallback=lambda **_: {})
def deploy_releases(lab: Lab, names: list[str], fabfile: Path | None = None) -> dict[str, str]:
    """Run the deploy task of `fabfile` (default: the reference one, labelled `course_label`)
    on each web server; {name: live release id}."""
    module = load_fabfile(fabfile)
    return {name: module.deploy(lab.instance(name).remote.connection,
                                **({} if fabfile else {"label": course_label(lab.instance(name))}))
            for name in names}


def course_label(web: Instance) -> str:
    """The label of the course's release for `web`: ANSWER_TO_04, unless `web` runs a release of
    the student's (no such label), whose label it then is, so that catch-up and the later
    chapters' given cells never replace the release of the student's own chapter 04."""
    live = web.run(f"test -L {CURRENT} && {{ cat {CURRENT}/LABEL 2>/dev/null || true; }}", readonly=True, check=False)
    if live.exit_code != 0 or live.stdout.startswith(COURSE_ANSWER):
        return ANSWER_TO_04
    return live.stdout.strip()


@grading.changes("fab -H {hosts} {task} (fabfile {fabfile})", fallback=lambda **_: "")
def fab(lab: Lab, task: str, hosts: list[str], fabfile: str = "fabfile.py", args: tuple[str, ...] = ()) -> str:
    """Run `fab -S <stack ssh_config> -H hosts task args...` with the given fabfile, as in a
    terminal (`args`: the task's own, e.g. ("--label", "2")); print and return its output.
    Skipped while grading."""
    path = Path(fabfile).resolve()
    command = [str(Path(sys.executable).parent / "fab"), "-r", str(path.parent), "-c", path.stem,
               "-S", lab.ssh_config, "-H", ",".join(hosts), task, *args]
    print("$ fab", " ".join(command[1:]), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    print(output, flush=True)
    if result.returncode != 0:
        raise WorkshopError(f"fab {task} failed (exit {result.returncode}); the live release is unchanged")
    return output
