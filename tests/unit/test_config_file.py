"""put_config on a stand-in host that runs the shell commands here, in a temporary folder:
the checker's verdict decides whether the new file stays, and a rejected one leaves
the previous file exactly as it was."""

import dataclasses
import os
import subprocess

import pytest

from workshop.deploy import apache, memcached, nginx, postgres, varnish
from workshop.configs import COURSE_ANSWER
from workshop.deploy.config_file import ConfigFile, keeping_own, put_config
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


def fake_systemctl(tmp_path, monkeypatch, active: bool) -> None:
    """`systemctl is-active` answering for every unit as `active` says."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "systemctl").write_text(f"#!/bin/bash\n[ \"$1\" = is-active ] && exit {0 if active else 3}\n")
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_file_in_place_under_an_active_service_is_neither_checked_nor_applied(site, tmp_path, monkeypatch):
    config, path, enabled = site
    config = dataclasses.replace(config, service="site")
    path.write_text("same\n")
    fake_systemctl(tmp_path, monkeypatch, active=True)
    assert put_config(LocalHost(), config, "same\n", apply=f"touch {tmp_path / 'applied'}") is False
    assert not enabled.exists() and not (tmp_path / "applied").exists()


@pytest.mark.parametrize("held, active", [("other\n", True), ("same\n", False)], ids=["changed", "service-down"])
def test_a_changed_file_or_a_stopped_service_goes_through_check_and_apply(site, tmp_path, monkeypatch, held, active):
    config, path, enabled = site
    config = dataclasses.replace(config, service="site")
    path.write_text(held)
    fake_systemctl(tmp_path, monkeypatch, active=active)
    assert put_config(LocalHost(), config, "same\n", apply=f"touch {tmp_path / 'applied'}") is True
    assert path.read_text() == "same\n" and enabled.exists() and (tmp_path / "applied").exists()


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


def run_check(config, tmp_path, monkeypatch, **programs):
    """Run `config.check` as put_config does, with each of `programs` (name: shell body)
    standing in for the real one on PATH; (exit code, output)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in programs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    done = subprocess.run(["bash", "-c", f"{{ {config.check}; }} 2>&1"], capture_output=True, text=True)
    return done.returncode, done.stdout.strip()


def test_pg_hba_passes_when_postgresql_parsed_every_line(tmp_path, monkeypatch):
    assert run_check(postgres.HBA, tmp_path, monkeypatch, runuser="true") == (0, "")


def test_pg_hba_fails_with_the_lines_postgresql_could_not_parse(tmp_path, monkeypatch):
    code, output = run_check(postgres.HBA, tmp_path, monkeypatch,
                             runuser="echo '97: invalid authentication method \"nosuchmethod\"'")
    assert code != 0 and output == '97: invalid authentication method "nosuchmethod"'


def test_pg_hba_fails_with_psqls_error_when_postgresql_does_not_answer(tmp_path, monkeypatch):
    code, output = run_check(postgres.HBA, tmp_path, monkeypatch,
                             runuser="echo 'psql: error: connection to server failed' >&2; exit 2")
    assert code != 0 and output == "psql: error: connection to server failed"


def test_memcached_fails_with_its_journal_when_it_does_not_stay_up(tmp_path, monkeypatch):
    journal = "memcached[311]: unrecognized option '--no-such-option'"
    code, output = run_check(memcached.CONFIG_FILE, tmp_path, monkeypatch, journalctl=f"echo \"{journal}\"",
                             systemctl='[ "$1" != is-active ]', ss="true")
    assert code != 0 and output == journal


def test_memcached_fails_when_it_exits_before_it_listens(tmp_path, monkeypatch):
    """A bind that fails (an -l address the machine lacks) can come after any fixed wait on a
    loaded machine: memcached is active, does not listen yet, then exits."""
    polls = tmp_path / "polls"
    polls.write_text("0")
    exits_on_third_poll = (f'[ "$1" = show ] && echo 100; [ "$1" != is-active ] && exit 0; '
                           f'n=$(( $(cat {polls}) + 1 )); echo $n > {polls}; [ $n -lt 3 ]')
    code, output = run_check(memcached.CONFIG_FILE, tmp_path, monkeypatch, ss="true",
                             journalctl="echo 'failed to listen on TCP port 11211: Cannot assign requested address'",
                             systemctl=exits_on_third_poll)
    assert code != 0 and output == "failed to listen on TCP port 11211: Cannot assign requested address"


def test_memcached_fails_when_systemd_had_to_start_it_again(tmp_path, monkeypatch):
    counter = tmp_path / "main-pid"
    counter.write_text("100")
    restarting = f'[ "$1" = show ] && {{ cat {counter}; echo $(( $(cat {counter}) + 1 )) > {counter}; }}; true'
    code, output = run_check(memcached.CONFIG_FILE, tmp_path, monkeypatch, journalctl="echo 'Scheduled restart job'",
                             systemctl=restarting, ss="echo LISTEN")
    assert code != 0 and output == "Scheduled restart job"


def test_memcached_passes_when_it_stays_up(tmp_path, monkeypatch):
    assert run_check(memcached.CONFIG_FILE, tmp_path, monkeypatch, journalctl="echo unexpected",
                     systemctl='[ "$1" = show ] && echo 100; true', ss="echo LISTEN") == (0, "")


COURSE = COURSE_ANSWER + " 09a, which earns no points: write your own.\nvcl 4.1;\n"


class Said:
    def __init__(self):
        self.lines = []

    def say(self, name, text):
        self.lines.append(f"{name}: {text}")


def test_catch_up_keeps_the_students_own_answer_file(site):
    """A machine running the student's own answer keeps it (catch-up never takes their points), and says how to
    get the course's instead."""
    config, path, _ = site
    path.write_text("# my VCL\nvcl 4.1;\n")
    said = Said()
    assert keeping_own(LocalHost(), config, COURSE, said) == "# my VCL\nvcl 4.1;\n"
    assert said.lines == [f"here: keeping your own {path} (your exercise's answer); to get the course's instead, "
                          f"delete it (workshop ssh here rm {path}) and catch up again"]


@pytest.mark.parametrize("live", [None, "", COURSE_ANSWER + " 09a, an older course answer\n"])
def test_catch_up_installs_the_course_answer_where_there_is_none_of_the_students(site, live):
    config, path, _ = site
    if live is not None:
        path.write_text(live)
    assert keeping_own(LocalHost(), config, COURSE, Said()) == COURSE


def test_a_file_that_is_no_exercises_answer_is_always_the_courses(site):
    config, path, _ = site
    path.write_text("# someone's memcached.conf\n")
    assert keeping_own(LocalHost(), config, "# memcached on cache1\n", Said()) == "# memcached on cache1\n"



def test_the_default_a_debian_package_put_there_is_no_students(site, tmp_path):
    """Debian's /etc/memcached.conf (loopback only, copied from the package's default) is there
    before exercise 06a: catch-up replaces it; the same file changed by the student it keeps."""
    config, path, _ = site
    default = tmp_path / "memcached.conf.default"
    default.write_text("# memcached default config file\n-l 127.0.0.1\n")
    path.write_text(default.read_text())
    shipped = dataclasses.replace(config, shipped=str(default))
    assert keeping_own(LocalHost(), shipped, COURSE, Said()) == COURSE
    path.write_text(default.read_text() + "-l 10.0.0.31\n")
    assert keeping_own(LocalHost(), shipped, COURSE, Said()) == path.read_text()


def test_memcached_names_the_default_its_package_copies():
    assert memcached.CONFIG_FILE.shipped == "/usr/share/memcached/memcached.conf.default"


def test_pg_hba_names_the_default_debian_wrote_and_the_image_keeps():
    assert postgres.HBA.shipped == postgres.HBA.path + ".debian"


class HbaHost(LocalHost):
    """A database server whose pg_hba.conf is `path` (course_hba reads postgres.HBA.path)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def run(self, command, **kwargs):
        return super().run(command.replace(postgres.HBA.path, str(self.path)), **kwargs)


LATER = "# pg_hba.conf of db1: who may connect, from where, and how they prove it.\nhost newsroom newsroom 10.0.0.61/32 scram-sha-256\n"


def test_a_later_chapters_pg_hba_keeps_the_mark_of_the_course_answer_it_replaces(tmp_path):
    """Catch-up's (or 07a's given cell's) pg_hba over the course's answer to 03 still says so:
    moving on to chapter 07 never turns the course's answer into the student's."""
    live = tmp_path / "pg_hba.conf"
    live.write_text(postgres.ANSWER_TO_03 + "\n# pg_hba.conf of db1\nhost newsroom newsroom 10.0.0.21/32 scram-sha-256\n")
    assert postgres.course_hba(HbaHost(live), LATER) == postgres.ANSWER_TO_03 + "\n" + LATER
    live.write_text(postgres.ANSWER_TO_03 + "\n" + LATER)
    assert postgres.course_hba(HbaHost(live), postgres.ANSWER_TO_03 + "\n" + LATER) == postgres.ANSWER_TO_03 + "\n" + LATER


@pytest.mark.parametrize("live", ["# mine\nhost newsroom newsroom 10.0.0.21/32 scram-sha-256\n", None])
def test_a_later_chapters_pg_hba_over_the_students_own_carries_no_mark(tmp_path, live):
    path = tmp_path / "pg_hba.conf"
    if live is not None:
        path.write_text(live)
    assert postgres.course_hba(HbaHost(path), LATER) == LATER
