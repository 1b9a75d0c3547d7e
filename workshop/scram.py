"""The SCRAM-SHA-256 secret PostgreSQL stores for a password (RFC 5802/7677), made here so
that the password itself is never sent to the server: `ALTER ROLE ... PASSWORD` with a
secret stores it as given, and nothing the server logs (`log_statement = ddl`) or shows
(pg_stat_activity) carries the password.

>>> scram_secret("pencil", salt=b"\\x01" * 16).startswith("SCRAM-SHA-256$4096:AQEBAQEBAQEBAQEBAQEBAQ==$")
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

#: PostgreSQL's own choice (scram_iterations, 4096 in 15).
ITERATIONS = 4096


def scram_keys(password: str, salt: bytes, iterations: int = ITERATIONS) -> tuple[bytes, bytes]:
    """StoredKey and ServerKey of `password`. Only ASCII passwords (the course makes its own),
    for which SASLprep, the normalisation PostgreSQL applies first, changes nothing."""
    if not password.isascii():
        raise ValueError("scram_secret takes ASCII passwords only (SASLprep is not applied)")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    return hashlib.sha256(client_key).digest(), hmac.digest(salted, b"Server Key", "sha256")


def scram_secret(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """`SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`, base64 as PostgreSQL writes it."""
    salt = os.urandom(16) if salt is None else salt
    stored, server = scram_keys(password, salt, iterations)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server)}"
