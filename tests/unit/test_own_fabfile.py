"""From chapter 05 on, the student's web servers are deployed with the fabfile of their own
chapter 04 folder, beside the notebook's; without one, the error says where it belongs."""

from types import SimpleNamespace

import pytest

from workshop.deploy.releases import own_fabfile
from workshop.errors import WorkshopError


def test_the_fabfile_of_the_chapter_04_folder_beside_the_notebooks_is_the_students(tmp_path):
    (tmp_path / "04-fabric").mkdir()
    (tmp_path / "04-fabric" / "fabfile.py").write_text("from fabric import task\n")
    assert own_fabfile(SimpleNamespace(folder=tmp_path / "05-load-balancing")) == tmp_path / "04-fabric" / "fabfile.py"


def test_without_one_the_error_names_the_place_and_the_way_on(tmp_path):
    with pytest.raises(WorkshopError, match=r"No fabfile of yours at .*/04-fabric/fabfile.py: .* exercise 04-fabric") \
            as missing:
        own_fabfile(SimpleNamespace(folder=tmp_path / "05-load-balancing"))
    assert "workshop catch-up 5" in str(missing.value)
