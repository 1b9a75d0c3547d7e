"""Commands on instances over SSH (Fabric on paramiko), with the stack's key.

The instance's host key is pinned in the stack descriptor when it boots, so
a reused loopback port or a replaced machine is refused instead of trusted.

Example::

    remote = Remote.to(stack, "web1")
    remote.run("uname -n").stdout
    # -> 'web1\\n'
"""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass

import paramiko
from fabric import Config, Connection

from .descriptor import host_key_entry
from .errors import RemoteError
from .stack import InstanceRecord, Stack

CONNECT_TIMEOUT = 10
#: How a connection that cannot reach its machine fails (paramiko, sockets).
CHANNEL_TIMEOUT, KEEPALIVE_S = 30, 15
UNREACHABLE = (OSError, EOFError, socket.timeout, paramiko.SSHException)


@dataclass
class CommandResult:
    """What a command printed and how it ended; `skipped` while grading."""

    command: str
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __str__(self) -> str:
        return self.stdout


class _WholeInput(io.StringIO):
    """Text for a command's stdin, handed over in one read: invoke asks a stream for one
    character every 10 ms (it was made for terminals), too slow for a page of SQL."""

    def read(self, size: int | None = -1) -> str:
        return super().read()


class Remote:
    """One SSH connection to one instance, opened on first use."""

    def __init__(self, record: InstanceRecord, user: str, key_path: str, connect_timeout: float = CONNECT_TIMEOUT):
        self.record = record
        self.user = user
        self.key_path = key_path
        self.connect_timeout = connect_timeout
        self._connection: Connection | None = None

    @classmethod
    def to(cls, stack: Stack, name: str, **kwargs) -> "Remote":
        if name not in stack.instances:
            raise RemoteError(f"Stack {stack.name!r} has no instance {name!r}; start it with lab.up({name!r})")
        return cls(stack.instances[name], stack.ssh_user, stack.ssh_key, **kwargs)

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            port = self.record.public_port(22)
            connection = Connection(
                self.record.public_host,
                user=self.user,
                port=port,
                # No local stdin: commands run from kernels, tests and fabfile tasks alike.
                config=Config(overrides={"load_ssh_configs": False, "run": {"in_stream": False}}),
                connect_timeout=self.connect_timeout,
                connect_kwargs={"key_filename": [self.key_path], "look_for_keys": False, "allow_agent": False,
                                "banner_timeout": self.connect_timeout, "auth_timeout": self.connect_timeout},
            )
            if self.record.host_key:
                known = f"[{self.record.public_host}]:{port}" if port != 22 else self.record.public_host
                connection.client.get_host_keys().add(known, self.record.host_key.split()[0],
                                                      host_key_entry(self.record.host_key))
                connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
            self._connection = connection
        return self._connection

    def _opened(self) -> Connection:
        """The connection, open, with a bound on opening a channel on it (paramiko waits up to an
        hour for a peer that vanished without closing the TCP connection) and keepalives, so
        such a connection counts as stale and is reopened instead of hanging its caller."""
        connection = self.connection
        if not connection.is_connected:
            connection.open()
            connection.transport.channel_timeout = CHANNEL_TIMEOUT
            connection.transport.set_keepalive(KEEPALIVE_S)
        return connection

    def run(self, command: str, timeout: float = 120, check: bool = False, env: dict | None = None,
            stdin: str | None = None) -> CommandResult:
        """Run `command` with bash, `stdin` as its input; raise RemoteError if unreachable
        (or if it fails and `check`). Secrets go in `stdin`: errors and CommandResult quote
        the command only, and only the command shows in the machine's process list."""
        try:
            result = self._reopening_stale(lambda: self._opened().run(
                command, hide=True, warn=True, timeout=timeout, env=env or {},
                in_stream=False if stdin is None else _WholeInput(stdin)))
        except paramiko.BadHostKeyException as exc:
            raise RemoteError(
                f"{self.record.name}'s SSH host key is not the one recorded when it booted: "
                "the instance was replaced. Recreate the stack (workshop down; workshop up)."
            ) from exc
        except paramiko.AuthenticationException as exc:
            raise RemoteError(f"{self.record.name} refused the stack's SSH key ({self.key_path}): {exc}") from exc
        except UNREACHABLE as exc:
            raise RemoteError(
                f"Cannot reach {self.record.name} over SSH at {self.record.public_host}:{self.record.public_port(22)} "
                f"({exc.__class__.__name__}: {exc}). Is it running? Check `workshop status`."
            ) from exc
        except Exception as exc:  # invoke's CommandTimedOut and friends
            raise RemoteError(f"`{command}` on {self.record.name} did not finish: {exc}") from exc
        outcome = CommandResult(command, result.stdout, result.stderr, result.exited)
        if check and not outcome.ok:
            raise RemoteError(
                f"`{command}` failed on {self.record.name} (exit {outcome.exit_code}):\n{outcome.stderr.strip() or outcome.stdout.strip()}"
            )
        return outcome

    def put(self, local, remote: str) -> None:
        """Copy a local path, or a file-like object, to `remote` over SFTP."""
        def copy():
            if hasattr(local, "seek"):
                local.seek(0)
            self._opened().put(local, remote)

        try:
            self._reopening_stale(copy)
        except UNREACHABLE as exc:
            raise RemoteError(f"Copying to {self.record.name}:{remote} failed: {exc}") from exc

    def _reopening_stale(self, attempt):
        """`attempt()`, and once more on a new connection if the one kept open had gone
        stale (its machine restarted since): the first attempt failed to reach it."""
        reused = self._connection is not None and self._connection.is_connected
        try:
            return attempt()
        except (paramiko.BadHostKeyException, paramiko.AuthenticationException):
            raise
        except UNREACHABLE:
            if not reused:
                raise
            self.close()
            return attempt()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except UNREACHABLE:
                pass  # a connection to a machine that is gone: nothing left to close
            self._connection = None
