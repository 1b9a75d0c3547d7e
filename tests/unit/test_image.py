"""The image definition: one package list, the host's mirror, a digest that tracks changes."""

import pytest

from workshop import image, machine


def test_the_containerfile_installs_every_package_and_disables_every_server():
    text = image.render("localhost/base:x", "abc")
    assert "FROM localhost/base:x" in text
    for package in machine.PACKAGES:
        assert f" {package}" in text
    for service in machine.DISABLED_SERVICES:
        assert service in text.split("systemctl disable")[1].split("\n")[0]
    assert 'org.workshop.definition="abc"' in text


def test_the_digest_changes_when_the_package_list_does(monkeypatch):
    before = image.definition_digest("localhost/base:x")
    monkeypatch.setattr(machine, "PACKAGES", machine.PACKAGES + ("htop",))
    assert image.definition_digest("localhost/base:x") != before


def test_the_digest_depends_on_the_base_image():
    assert image.definition_digest("localhost/base:a") != image.definition_digest("localhost/base:b")


@pytest.mark.parametrize("layout, content", [
    ("sources.list.d/debian.sources",
     "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
     "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"),
    ("sources.list", "# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n"),
])
def test_the_mirror_is_the_one_the_host_uses(tmp_path, layout, content):
    (tmp_path / layout).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / layout).write_text(content)
    assert image.host_mirror(tmp_path) == "http://mirror.example/debian"


def test_without_apt_sources_the_default_mirror_is_used(tmp_path):
    assert image.host_mirror(tmp_path) == image.DEFAULT_MIRROR
