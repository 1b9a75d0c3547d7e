"""Shared test helpers: the repository root and running notebooks as a student would."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute_notebook(path: Path, allow_errors: bool = False, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` in its own folder, save it with outputs, return it."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(notebook, path)
    return notebook


def cell_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed or raised, as one string."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(value) for value in output.get("data", {}).values())
            parts.append(output.get("evalue", ""))
    return "\n".join(parts)


#: A well-formed host key line for stacks made up in tests (descriptors without one are refused).
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN4nVW9QiJn2Q/Q64MsaUD82Rl5XU2PozGbJLYIXc+zl"
