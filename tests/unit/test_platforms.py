"""The macOS (Lima) and Windows (WSL2) recipes: valid files, a Debian 12 VM, and the README's commands inside."""

import configparser
import re

import yaml

from tests.conftest import ROOT

PLATFORMS = ROOT / "platforms"
PRE_CLASS = (ROOT / "docs" / "pre-class.md").read_text()


def readme_commands() -> set[str]:
    """The two commands of the README's first code block."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return {line.split("#")[0].strip() for line in block.splitlines() if line.strip()}


def section(title: str) -> str:
    return PRE_CLASS.split(f"### {title}", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def shell_lines(text: str) -> list[str]:
    return [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()
            if line.strip()]


def make_port() -> int:
    return int(re.search(r"^PORT \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M).group(1))


def test_the_readme_has_the_two_commands_the_recipes_end_with():
    assert readme_commands() == {"make lab", "make test"}


def test_the_lima_template_boots_debian_12_with_room_for_a_stack_and_forwards_jupyterlab():
    template = yaml.safe_load((PLATFORMS / "lima" / "workshop.yaml").read_text())
    assert {image["arch"] for image in template["images"]} == {"x86_64", "aarch64"}
    assert all("/bookworm/" in image["location"] and "debian-12" in image["location"] for image in template["images"])
    assert template["cpus"] >= 2 and int(template["memory"].removesuffix("GiB")) >= 4
    assert {"guestIP": "127.0.0.1", "guestPort": make_port(), "hostIP": "127.0.0.1", "hostPort": make_port()} \
        in template["portForwards"]
    [provision] = template["provision"]
    assert re.search(r"apt-get install .*\bgit\b.*\bmake\b", provision["script"])


def test_the_mac_steps_use_the_template_and_end_in_make_lab_inside_the_vm():
    steps = shell_lines(section("On a Mac"))
    assert "limactl start --name=workshop platforms/lima/workshop.yaml" in steps
    header = [line.removeprefix("#").strip() for line in (PLATFORMS / "lima" / "workshop.yaml").read_text().splitlines()
              if line.startswith("#   limactl")]
    assert header == [step for step in steps if step.startswith("limactl")]
    assert re.fullmatch(r"limactl shell workshop sudo make -C (\S+) lab", steps[-1])
    assert steps[-2].endswith(re.fullmatch(r".* make -C (\S+) lab", steps[-1]).group(1))


def test_the_wsl2_files_turn_systemd_on_and_forward_localhost_with_room_for_a_stack():
    wsl = configparser.ConfigParser()
    wsl.read(PLATFORMS / "wsl2" / "wsl.conf")
    assert wsl.getboolean("boot", "systemd")
    host = configparser.ConfigParser()
    host.read(PLATFORMS / "wsl2" / "wslconfig")
    assert host.getboolean("wsl2", "localhostForwarding")
    assert host.getint("wsl2", "processors") >= 2 and int(host.get("wsl2", "memory").removesuffix("GB")) >= 4


def test_the_windows_steps_install_both_files_and_end_in_make_lab():
    text = section("On Windows")
    assert "platforms/wsl2/wslconfig` to `%UserProfile%\\.wslconfig`" in text
    steps = shell_lines(text)
    assert "cp django-deployment-workshop/platforms/wsl2/wsl.conf /etc/wsl.conf" in steps
    assert "wsl --install -d Debian" in text and "wsl --shutdown" in text
    assert steps[-1] in readme_commands() and steps[-1] == "make lab"
