"""The docs stand on their own: every relative link resolves inside the repository, and
nothing cites a design document the repository does not hold."""

import re

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_every_relative_link_resolves_inside_the_repository(page):
    targets = [target for target in LINK.findall(page.read_text()) if "://" not in target]
    missing = [target for target in targets if not (page.parent / target).resolve().exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_nothing_cites_a_design_document_outside_the_repository():
    sources = [path for pattern in ("**/*.py", "**/*.md", "**/*.ipynb", "**/*.j2", "**/*.sh")
               for path in ROOT.glob(pattern) if not {".venv", ".venv-exampleapp", "build"} & set(path.parts)]
    citing = [str(path.relative_to(ROOT)) for path in sources if "DESIGN §" in path.read_text(errors="replace")
              and path.name != "test_docs.py"]
    assert not citing, f"these cite a document that is not in the repository: {citing}"
