"""From chapter 05 on, the student's web servers are deployed with the fabfile of their own
chapter 04 folder, beside the notebook's; without one, the error says where it belongs."""

from types import SimpleNamespace

import pytest

from workshop.deploy.releases import ANSWER_TO_04, course_label, own_fabfile
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


class Web:
    """A web server whose /srv/newsroom is `root` here: runs the command with bash."""

    name = "web1"

    def __init__(self, root):
        self.root = root

    def run(self, command, **_):
        import subprocess

        from workshop.remote import CommandResult
        done = subprocess.run(["bash", "-c", command.replace("/srv/newsroom", str(self.root))], capture_output=True,
                              text=True)
        return CommandResult(command, done.stdout, done.stderr, done.returncode)


def release(root, label=None):
    """`root`/current, a release symlink, with a LABEL file if `label` is given."""
    (root / "releases" / "abc").mkdir(parents=True)
    if label is not None:
        (root / "releases" / "abc" / "LABEL").write_text(label + "\n")
    (root / "current").symlink_to(root / "releases" / "abc")


@pytest.mark.parametrize("label, expected", [(None, ""), ("2", "2"), (ANSWER_TO_04, ANSWER_TO_04)])
def test_the_course_deploys_the_students_own_release_again_and_labels_the_rest_its_own(tmp_path, label, expected):
    """Catch-up's deploy of the same code over the student's release is that release (nothing
    switches, chapter 04's points stay); over its own, or an in-place deploy, it is the course's."""
    release(tmp_path, label)
    assert course_label(Web(tmp_path)) == expected


def test_a_server_without_releases_gets_the_courses(tmp_path):
    (tmp_path / "current").mkdir()  # chapter 02's in-place deploy
    assert course_label(Web(tmp_path)) == ANSWER_TO_04
