"""put_config on a stand-in host that runs the shell commands here, in a temporary folder:
the checker's verdict decides whether the new file stays, and a rejected one leaves
the previous file exactly as it was."""

import subprocess

import pytest

from workshop.deploy import apache, memcached, nginx, postgres, varnish
from workshop.deploy.config_file import ConfigFile, put_config
from workshop.errors import ConfigError
from workshop.remote import CommandResult


class LocalHost:
    """What put_config needs of an Instance (run, put_text), on this machine."""

    name = "here"

    def __init__(self):
        self.commands = []

    def run(self, command, *, readonly=False, check=True, timeout=120):
        self.commands.append(command)
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0 or not check, done.stderr
        return CommandResult(command, done.stdout, done.stderr, done.returncode)

    def put_text(self, path, text, mode="644", owner="root:root"):
        with open(path, "w") as file:
            file.write(text)


@pytest.fixture
def site(tmp_path):
    """A config file the "checker" accepts when it has no line saying `broken`, and a flag the site is enabled."""
    path, enabled = tmp_path / "site.conf", tmp_path / "enabled"
    config = ConfigFile(str(path), check=f"touch {enabled} && ! grep -n broken {path}",
                        rejected="the checker rejected the site", drop=f"rm -f {enabled}")
    return config, path, enabled


def test_an_accepted_file_is_installed_then_applied(site, tmp_path):
    config, path, enabled = site
    path.write_text("old\n")
    host = LocalHost()
    put_config(host, config, "new\n", apply=f"echo reloaded > {tmp_path / 'applied'}")
    assert path.read_text() == "new\n" and enabled.exists()
    assert (tmp_path / "applied").read_text() == "reloaded\n"


def test_a_rejected_file_puts_the_previous_one_back_and_says_what_the_checker_said(site, tmp_path):
    config, path, _ = site
    path.write_text("old\n")
    with pytest.raises(ConfigError, match="(?s)the checker rejected the site; the previous configuration stays live:"
                                          "\n2:broken"):
        put_config(LocalHost(), config, "fine\nbroken\n", apply=f"touch {tmp_path / 'applied'}")
    assert path.read_text() == "old\n" and not (tmp_path / "applied").exists()


def test_a_rejected_first_file_is_removed_with_what_the_check_enabled(site):
    config, path, enabled = site
    with pytest.raises(ConfigError):
        put_config(LocalHost(), config, "broken\n")
    assert not path.exists() and not enabled.exists()


def test_a_service_the_check_restarted_is_restarted_with_the_previous_file(tmp_path):
    path, running = tmp_path / "memcached.conf", tmp_path / "running-with"
    start = f"cp {path} {running} && ! grep -q '^-l 0.0.0.0' {path}"
    config = ConfigFile(str(path), check=f"{start} || {{ echo 'refusing to listen everywhere'; false; }}",
                        rejected="memcached did not start", restore=f"cp {path} {running}")
    path.write_text("-l 10.0.0.5\n")
    with pytest.raises(ConfigError, match="memcached did not start; the previous configuration is back:\n"
                                          "refusing to listen everywhere"):
        put_config(LocalHost(), config, "-l 0.0.0.0\n")
    assert running.read_text() == path.read_text() == "-l 10.0.0.5\n"


@pytest.mark.parametrize("config", [apache.SITE, nginx.SITE, varnish.VCL_FILE, memcached.CONFIG_FILE, postgres.HBA],
                         ids=lambda config: config.path)
def test_every_services_check_is_valid_shell(config):
    for command in (config.check, config.drop, config.restore):
        assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0, command
