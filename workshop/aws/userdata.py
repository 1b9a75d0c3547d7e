"""User-data that turns Debian's own cloud image into the workshop machine.

The same package list and disabled services as the local image
(workshop/machine.py), installed at first boot by cloud-init. Root logs in
with the stack's key, as on the local machines, so every deploy step runs
unchanged. The SSH host key is made here and handed to cloud-init, so the
provider knows it before the instance boots and pins it (no trust on first use).

The document is cloud-config written as JSON, which is valid YAML.

>>> private, public = host_key_pair()
>>> render("web1", private, public).splitlines()[0]
'#cloud-config'
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import machine

#: The same steps as workshop/image/Containerfile.j2, in one script that fails
#: as a whole (cloud-init then reports "status: error" and the provider says so).
INSTALL = "\n".join((
    "set -eu",
    "export DEBIAN_FRONTEND=noninteractive",
    # policy-rc.d stops services from starting while they are installed.
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d",
    # Debian's image may run its own apt jobs at first boot: wait for their lock rather than fail.
    "apt-get -o DPkg::Lock::Timeout=300 update",
    f"apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends {' '.join(machine.PACKAGES)}",
    "rm -f /usr/sbin/policy-rc.d",
    f"systemctl disable --now {' '.join(machine.DISABLED_SERVICES + machine.DISABLED_TIMERS)}",
    "for conf in /etc/postgresql/*/*/start.conf; do echo manual > \"$conf\"; done",
))


def host_key_pair() -> tuple[str, str]:
    """A new Ed25519 SSH host key: (private key in OpenSSH format, public key line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


def render(hostname: str, host_private: str, host_public: str) -> str:
    """The cloud-config for instance `hostname`."""
    config = {
        "hostname": hostname,
        "preserve_hostname": False,
        "manage_etc_hosts": True,
        # Debian's image sends root to "admin"; the course logs in as root everywhere.
        "disable_root": False,
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_keys": {"ed25519_private": host_private, "ed25519_public": host_public},
        "runcmd": [["bash", "-c", INSTALL]],
    }
    return "#cloud-config\n" + json.dumps(config, indent=1) + "\n"

