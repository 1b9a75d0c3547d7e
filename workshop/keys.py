"""SSH key pairs: one per stack, made on the student's machine, never shared."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate_key_pair(private_path: Path, comment: str) -> str:
    """Write an Ed25519 private key (mode 600) and its .pub; return the public line."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    line = f"{public.decode()} {comment}"
    private_path.with_suffix(".pub").write_text(line + "\n")
    return line


def public_key_line(private_path: Path) -> str:
    return private_path.with_suffix(".pub").read_text().strip()
