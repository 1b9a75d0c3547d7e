"""An SSH connection whose peer vanished fails within a bound and is reopened, never hangs its caller."""

from workshop import remote
from workshop.remote import CHANNEL_TIMEOUT, KEEPALIVE_S, Remote
from workshop.stack import InstanceRecord


class Transport:
    channel_timeout = 60 * 60  # paramiko's default: an hour

    def set_keepalive(self, interval):
        self.keepalive = interval


class Connection:
    def __init__(self):
        self.is_connected, self.transport, self.opened = False, None, 0

    def open(self):
        self.is_connected, self.transport, self.opened = True, Transport(), self.opened + 1


def test_a_new_connection_bounds_opening_a_channel_and_sends_keepalives():
    record = InstanceRecord("web1", "web", "10.213.7.21", "127.0.0.1", {"22": 2222}, "c-web1", "")
    ssh = Remote(record, "root", "/nonexistent/id_ed25519")
    ssh._connection = Connection()
    opened = ssh._opened()
    assert (opened.transport.channel_timeout, opened.transport.keepalive) == (CHANNEL_TIMEOUT, KEEPALIVE_S)
    assert ssh._opened() is opened and opened.opened == 1  # an open connection is used as it is
    assert remote.paramiko.SSHException in remote.UNREACHABLE  # "Timeout opening channel." reopens once
