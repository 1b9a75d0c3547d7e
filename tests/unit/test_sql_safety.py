"""No shell or SQL built from untrusted text, no password on a command line: SQL and
secrets travel on stdin or in files, so a process list, a CommandResult or a RemoteError
never holds them, and values with shell or SQL metacharacters reach psql as data."""

import base64
import hashlib
import json
import os
import re
import subprocess

import invoke
import pytest

from grader.replication import has_markers
from grader.target import Target
from workshop.deploy import pgpool, postgres
from workshop.errors import RemoteError
from workshop.lab import Lab
from workshop.remote import CommandResult, Remote
from workshop.scram import scram_keys
from workshop.sql import literal, superuser_psql
from workshop.stack import InstanceRecord, Stack

HOSTILE = ["$(touch {flag})", "`touch {flag}`", "'; DROP TABLE articles_marker; --", "back\\slash \\' ''"]


class TestLiteral:
    @pytest.mark.parametrize("value, expected", [
        ("newsroom", "'newsroom'"),
        ("it's", "'it''s'"),
        ("'; DROP TABLE articles_marker; --", "'''; DROP TABLE articles_marker; --'"),
        ("$(touch /tmp/x)", "'$(touch /tmp/x)'"),
        ("back\\slash \\'", "E'back\\\\slash \\\\'''"),
    ])
    def test_quotes_are_doubled_and_backslashes_make_an_escape_string(self, value, expected):
        assert literal(value) == expected

    def test_a_nul_character_is_refused(self):
        with pytest.raises(ValueError, match="NUL"):
            literal("a\0b")


@pytest.mark.parametrize("database", ["newsroom; rm -rf /", "$(id)", "News", ""])
def test_only_plain_database_names_reach_the_command_line(database):
    with pytest.raises(ValueError, match="not a plain database name"):
        superuser_psql(database)


class LocalConnection:
    """Fabric's Connection.run, on this machine through invoke (the same stdin handling)."""

    is_connected = True

    def run(self, command, **kwargs):
        return invoke.Context().run(command, **kwargs)


@pytest.fixture
def remote(monkeypatch):
    monkeypatch.setattr(Remote, "connection", property(lambda self: LocalConnection()))
    return Remote(InstanceRecord("db1", "db", "10.0.0.41", "127.0.0.1", {"22": 2222}, "local"), "root", "/nonexistent")


def test_stdin_reaches_the_command_and_stays_out_of_its_result(remote):
    result = remote.run("cat", stdin="ALTER ROLE newsroom PASSWORD 'pw-4c1f';\n" * 50)
    assert result.stdout == "ALTER ROLE newsroom PASSWORD 'pw-4c1f';\n" * 50
    assert result.command == "cat"


def test_a_failing_commands_error_quotes_the_command_but_not_its_stdin(remote):
    with pytest.raises(RemoteError) as failed:
        remote.run("cat >/dev/null; echo 'ERROR:  role \"x\" does not exist' >&2; exit 3",
                   stdin="ALTER ROLE x PASSWORD 'pw-4c1f';", check=True)
    assert 'role "x" does not exist' in str(failed.value) and "pw-4c1f" not in str(failed.value)


class RecordingHost:
    """An Instance that records each command with its stdin, and each file written."""

    def __init__(self, name):
        self.name = name
        self.commands, self.inputs, self.files = [], [], {}

    def run(self, command, *, readonly=False, check=True, timeout=120, stdin=None):
        self.commands.append(command)
        self.inputs.append(stdin or "")
        return CommandResult(command, "", "", 0)

    def put_text(self, path, text, mode="644", owner="root:root"):
        self.files[path] = text

    def update_text(self, path, text, mode="644", owner="root:root"):
        self.put_text(path, text, mode, owner)
        return True


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return Lab(Stack("units", "local", "root", str(tmp_path / "id"), {"subnet": "10.213.9.0/24"}, {}), None, tmp_path)


def stack_secrets(lab) -> list[str]:
    return list(json.loads((lab.stack.folder / "secrets.json").read_text()).values())


@pytest.mark.parametrize("deploy", [
    lambda lab, host: postgres.create_app_database(host, postgres.app_password(lab)),
    lambda lab, host: pgpool.prepare_primary(lab, host),
    lambda lab, host: pgpool.configure_pgpool(lab, host, "port = 5432", "host all all 0/0 scram-sha-256"),
], ids=["create_app_database", "prepare_primary", "configure_pgpool"])
def test_no_password_is_on_a_command_line(lab, deploy):
    host = RecordingHost("db1")
    deploy(lab, host)
    secrets = stack_secrets(lab)
    assert secrets and host.commands
    for secret in secrets:
        assert not [command for command in host.commands if secret in command]
        # Each one reached the machine, by stdin or in a file, or only as the SCRAM secret of a
        # role's password (PostgreSQL never needs the password itself): the test sees where it went.
        assert any(secret in text for text in host.inputs + list(host.files.values())) or \
            any(scram_secrets_of(secret, text) for text in host.inputs)


def scram_secrets_of(password: str, text: str) -> list[str]:
    """The SCRAM secrets in `text` that were made from `password`."""
    found = re.finditer(r"SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)", text)
    return [match[0] for match in found
            if scram_keys(password, base64.b64decode(match[2]), int(match[1]))
            == (base64.b64decode(match[3]), base64.b64decode(match[4]))]


def test_role_passwords_reach_psqls_stdin_only_as_scram_secrets(lab):
    host = RecordingHost("db1")
    postgres.create_app_database(host, "it's-a-secret")
    assert host.commands == [superuser_psql()]
    assert "it's-a-secret" not in host.inputs[0]
    secret, = scram_secrets_of("it's-a-secret", host.inputs[0])
    assert f"ALTER ROLE newsroom PASSWORD '{secret}';" in host.inputs[0]


def test_pcp_conf_holds_the_md5_pg_md5_would_print(lab):
    host = RecordingHost("pgpool1")
    pgpool.configure_pgpool(lab, host, "port = 5432", "host all all 0/0 scram-sha-256")
    pcp_password = next(line for line in host.files["/root/.pcppass"].splitlines()).rsplit(":", 1)[1]
    assert host.files["/etc/pgpool2/pcp.conf"] == f"pcpadmin:{hashlib.md5(pcp_password.encode()).hexdigest()}\n"
    assert not any("pg_md5" in command or "PGPASSWORD" in command for command in host.commands)


class LocalShell:
    """Remote.run's contract on this machine's bash, with stand-ins for `runuser` and `psql`."""

    def __init__(self, bin_dir):
        self.record = InstanceRecord("db1", "db", "10.0.0.41", "127.0.0.1", {"22": 2222}, "local")
        self.env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def run(self, command, timeout=120, stdin=None):
        done = subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=timeout)
        return CommandResult(command, done.stdout, done.stderr, done.returncode)


def test_a_forged_records_values_reach_psql_as_data(tmp_path, monkeypatch):
    """The failover drill's acknowledged markers come from a file in the student's folder:
    looking them up runs no shell text on db1 and keeps each one a single SQL string."""
    bin_dir, received, flag = tmp_path / "bin", tmp_path / "received.sql", tmp_path / "injected"
    bin_dir.mkdir()
    (bin_dir / "runuser").write_text('#!/bin/bash\nwhile [ "$1" != -- ]; do shift; done; shift; exec "$@"\n')
    (bin_dir / "psql").write_text(f"#!/bin/bash\ncat > {received}\n")
    for program in bin_dir.iterdir():
        program.chmod(0o755)
    shell = LocalShell(bin_dir)
    monkeypatch.setattr(Target, "remote", lambda self, name: shell)
    target = Target(Stack("units", "local", "root", "/nonexistent/id", {}, {"db1": shell.record}), "a local stand-in")
    values = [value.format(flag=flag) for value in HOSTILE]
    assert has_markers(target, "db1", values) == set()
    assert not flag.exists()
    assert received.read_text() == f"SELECT value FROM articles_marker WHERE value IN ({', '.join(map(literal, values))})"
