"""testinfra's host facts (services, sockets, files, packages, processes) over the
grader's own SSH connection, so its pinned host key, probe timeouts and hints apply.

testinfra's paramiko backend would open a second connection with its own host-key
policy; this backend only hands testinfra's commands to `workshop.remote.Remote`.
"""

from __future__ import annotations

from typing import Any

from testinfra.backend.base import BaseBackend, CommandResult
from testinfra.host import Host

from workshop.remote import Remote


class RemoteBackend(BaseBackend):
    NAME = "workshop"

    def __init__(self, remote: Remote, timeout: float):
        self.remote = remote
        self.timeout = timeout
        super().__init__(remote.record.name)

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        """Run with testinfra's quoting; an unreachable machine raises RemoteError (its message is the hint)."""
        command = self.get_command(command, *args)
        result = self.remote.run(command, timeout=self.timeout)
        return self.result(result.exit_code, self.encode(command), result.stdout, result.stderr)


def remote_host(remote: Remote, timeout: float) -> Host:
    host = Host(RemoteBackend(remote, timeout))
    host.backend.set_host(host)
    return host
