"""The SCRAM secret made in Python is the one PostgreSQL would store: checked against the
worked exchange of RFC 7677 (user "user", password "pencil"), whose server signature only
the right ServerKey gives, and its StoredKey against the client proof."""

import base64
import hashlib
import hmac

import pytest

from workshop.deploy.postgres import role_sql
from workshop.scram import scram_keys, scram_secret

SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
NONCE = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
AUTH_MESSAGE = (f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
                f"c=biws,r={NONCE}").encode()
PROOF = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_the_keys_answer_rfc_7677s_exchange():
    stored, server = scram_keys("pencil", SALT, 4096)
    assert base64.b64encode(hmac.digest(server, AUTH_MESSAGE, "sha256")).decode() == SERVER_SIGNATURE
    client_signature = hmac.digest(stored, AUTH_MESSAGE, "sha256")
    client_key = bytes(a ^ b for a, b in zip(PROOF, client_signature))
    assert hashlib.sha256(client_key).digest() == stored


def test_the_secret_is_in_postgresqls_format_with_a_fresh_salt_each_time():
    first, second = scram_secret("pencil"), scram_secret("pencil")
    assert first.startswith("SCRAM-SHA-256$4096:") and first.count("$") == 2 and first != second
    assert scram_secret("pencil", salt=SALT) == scram_secret("pencil", salt=SALT)


def test_the_role_sql_never_carries_the_password():
    sql = role_sql("newsroom", "s3cret-Password")
    assert "s3cret-Password" not in sql and "PASSWORD 'SCRAM-SHA-256$4096:" in sql


def test_a_password_saslprep_would_change_is_refused():
    with pytest.raises(ValueError, match="ASCII"):
        scram_secret("pässword")
