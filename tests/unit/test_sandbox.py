"""Student code runs with nothing to steal: a grading kernel sees its own folder (read-write), its
student's stack folder (read-only) and the course's code, not the gradebook, another student's key
or AWS credentials. Tried the way a student's notebook would, in a real kernel under bwrap."""

import asyncio
import json

import nbformat
import pytest

from workshop import sandbox
from workshop.course import Course
from workshop.errors import WorkshopError
from workshop.sandbox import SandboxedKernelManager

CHAPTER = "01-getting-started"
NOTEBOOK = "first-vm.ipynb"
PROBE = """
import json, os, pathlib
def attempt(action):
    try:
        return repr(action())
    except OSError as exc:
        return type(exc).__name__
found = {
    "other student's key": attempt(lambda: pathlib.Path(OTHER_KEY).read_text()),
    "own stack's key": attempt(lambda: pathlib.Path(OWN_KEY).read_text()),
    "write own stack folder": attempt(lambda: pathlib.Path(OWN_KEY).with_name("forged.json").write_text("{}")),
    "write here": attempt(lambda: pathlib.Path("fabfile.py").write_text("ok")),
    "aws": os.environ.get("AWS_SECRET_ACCESS_KEY"),
}
print(json.dumps(found))
"""


def run_in_sandbox(code: str, cwd, stack_folder, monkeypatch) -> dict:
    """Run `code` in a sandboxed kernel started in `cwd`; the JSON it printed."""
    monkeypatch.setenv(sandbox.STACK_FOLDER, str(stack_folder))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "instructor-secret")

    async def run() -> str:
        manager = SandboxedKernelManager(kernel_name="python3")
        await manager.start_kernel(cwd=str(cwd))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            client.execute(code)
            while True:
                message = await client.get_iopub_msg(timeout=60)
                if message["msg_type"] == "stream":
                    return message["content"]["text"]
                if message["msg_type"] == "error":
                    raise AssertionError(message["content"]["traceback"])
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    return json.loads(asyncio.run(run()))


def test_a_grading_kernel_reads_its_own_stack_writes_its_folder_and_sees_nothing_else(tmp_path, monkeypatch):
    own, other, cwd = tmp_path / "alice-stack", tmp_path / "bob-stack", tmp_path / "autograded"
    for folder in (own, other, cwd):
        folder.mkdir()
    (own / "id_ed25519").write_text("alice's key")
    (other / "id_ed25519").write_text("bob's key")
    code = f"OTHER_KEY, OWN_KEY = {str(other / 'id_ed25519')!r}, {str(own / 'id_ed25519')!r}\n" + PROBE
    found = run_in_sandbox(code, cwd, own, monkeypatch)
    assert found == {"other student's key": "FileNotFoundError", "own stack's key": repr("alice's key"),
                     "write own stack folder": "OSError", "write here": "2", "aws": None}
    assert (cwd / "fabfile.py").read_text() == "ok" and not (own / "forged.json").exists()


def test_autograde_refuses_to_run_student_code_without_bubblewrap(tmp_path, monkeypatch, one_alembic_process):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    course = Course(tmp_path / "course")
    with pytest.raises(WorkshopError, match="bubblewrap .* is not installed: run scripts/setup.sh"):
        course.autograde(CHAPTER, "alice", None)


def test_a_submission_can_neither_read_nor_rewrite_the_gradebook(tmp_path, one_alembic_process):
    course = Course(tmp_path / "course")
    course.release([CHAPTER])
    notebook = nbformat.read(course.root / "release" / CHAPTER / NOTEBOOK, as_version=4)
    gradebook = course.root / "gradebook.db"
    attack = (f"import pathlib\ngradebook = pathlib.Path({str(gradebook)!r})\ntry:\n    gradebook.read_bytes()\n"
              "    print('READ')\nexcept OSError as exc:\n    print('refused', type(exc).__name__)\n"
              "gradebook.write_bytes(b'')  # lands in the sandbox's own /tmp, if anywhere")
    answers = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    answers[0].source = attack
    for cell in answers[1:]:
        cell.source = "pass"
    folder = tmp_path / "mallory"
    folder.mkdir()
    nbformat.write(notebook, folder / NOTEBOOK)
    course.submit(CHAPTER, "mallory", folder)
    before = gradebook.stat().st_size
    course.autograde(CHAPTER, "mallory", None)
    assert gradebook.stat().st_size >= before > 0
    assert course.score(CHAPTER, "mallory") == (0, 6)  # the gradebook still works: it was not emptied
    printed = nbformat.read(course.root / "autograded" / "mallory" / CHAPTER / NOTEBOOK, as_version=4)
    outputs = "".join(output.get("text", "") for cell in printed.cells for output in cell.get("outputs", []))
    assert "refused FileNotFoundError" in outputs and "READ" not in outputs
