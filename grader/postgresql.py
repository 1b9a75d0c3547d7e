"""Chapter 03, the database server: the app's data is in PostgreSQL on db1 (not
SQLite, not on the web server), behind password (SCRAM) authentication, on
a server that listens only where it must, and it survives a web server restart."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

from workshop.sql import literal, superuser_psql

from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "03-postgresql"
WEB, DB = "web1", "db1"
DATABASE = "newsroom"
RESTART_MARKER = "before-restart"


def sql(target: Target, query: str, database: str = "postgres", host: str = DB) -> list[list[str]]:
    """Rows of a read-only query run on `host` as the postgres superuser (peer auth over the socket);
    the query goes on psql's stdin, so no text in it is ever read by a shell."""
    result = target.ssh(host, superuser_psql(database), stdin=query)
    if not result.ok:
        raise ProbeError(f"PostgreSQL on {host} did not answer ({result.stderr.strip()[:200]}): "
                         f"systemctl status postgresql@15-main on {host}")
    return [line.split("|") for line in result.stdout.splitlines() if line]


@check(CHAPTER, "app-uses-postgres-on-db1", "the app's database is PostgreSQL on db1", points=2)
def app_uses_postgres_on_db1(target: Target, verdict: Verdict) -> None:
    database = target.health(WEB)["database"]
    db1_ip = target.record(DB).private_ip
    verdict.see(vendor=database.get("vendor"), host=database.get("host"), name=database.get("name"), db1=db1_ip)
    if database.get("vendor") != "postgresql":
        verdict.fail(f"the app still uses {database.get('vendor')} ({database.get('name')}): set DATABASE_URL="
                     f"postgres://newsroom:PASSWORD@{db1_ip}:5432/newsroom in /etc/newsroom/env, restart apache2")
    elif database.get("host") not in (db1_ip, _pgpool_ip(target)):
        verdict.fail(f"the app's database is at {database.get('host')}, not on db1: point DATABASE_URL at "
                     f"db1's private address {db1_ip}")
    web_postgres = target.host(WEB).service("postgresql@15-main").is_running
    verdict.see(postgres_on_web1=web_postgres)
    if web_postgres:
        verdict.fail("PostgreSQL also runs on web1: the web server should not hold data; "
                     "systemctl disable --now postgresql on web1")


def _pgpool_ip(target: Target) -> str | None:
    """From chapter 07 on the app reaches db1 through pgpool1 (whose own check proves it)."""
    instances = target.require_stack().instances
    return instances["pgpool1"].private_ip if "pgpool1" in instances else None


@check(CHAPTER, "password-authentication", "connections authenticate with SCRAM passwords, never trust", points=2)
def password_authentication(target: Target, verdict: Verdict) -> None:
    rules = sql(target, "SELECT line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), "
                        "coalesce(address, ''), auth_method FROM pg_hba_file_rules")
    trusting = [f"line {r[0]}: {r[1]} {r[2]} {r[3]} {r[4]}".strip() for r in rules if r[5] in ("trust", "password")]
    scram = sql(target, f"SELECT rolname, left(rolpassword, 13) FROM pg_authid WHERE rolname = {literal(DATABASE)}")
    verdict.see(rules=len(rules), weak_rules=trusting,
                newsroom_password=scram[0][1] if scram else "no role")
    if trusting:
        verdict.fail(f"pg_hba.conf lets clients in without a hashed password ({'; '.join(trusting)}): "
                     "use scram-sha-256 on every host line")
    if not scram or scram[0][1] != "SCRAM-SHA-256":
        verdict.fail("the newsroom role has no SCRAM password: SET password_encryption = 'scram-sha-256'; "
                     "ALTER ROLE newsroom PASSWORD '...'")


@check(CHAPTER, "listens-where-it-must", "PostgreSQL listens on loopback and db1's private address only", points=1)
def listens_where_it_must(target: Target, verdict: Verdict) -> None:
    db1_ip = target.record(DB).private_ip
    addresses = target.listening_addresses(DB, 5432)
    verdict.see(listening=addresses, db1=db1_ip)
    if not addresses:
        verdict.fail("nothing listens on port 5432 on db1: systemctl enable --now postgresql")
        return
    wildcard = [a for a in addresses if a in ("0.0.0.0", "::")]
    foreign = [a for a in addresses if a not in wildcard and a != db1_ip and not ipaddress.ip_address(a).is_loopback]
    if wildcard or foreign:
        verdict.fail(f"PostgreSQL listens on {', '.join(wildcard + foreign)}: set listen_addresses = "
                     f"'localhost,{db1_ip}'")
    if db1_ip not in addresses:
        verdict.fail(f"PostgreSQL does not listen on db1's private address {db1_ip}: the web servers cannot reach it")


@check(CHAPTER, "migrations-applied", "the app's tables exist in db1's newsroom database", points=1)
def migrations_applied(target: Target, verdict: Verdict) -> None:
    if DATABASE not in [row[0] for row in sql(target, "SELECT datname FROM pg_database")]:
        raise ProbeError("db1 has no newsroom database: CREATE DATABASE newsroom OWNER newsroom")
    migrations, articles = _count(target, "django_migrations"), _count(target, "articles_article")
    verdict.see(migrations=migrations, articles=articles)
    if not migrations or articles is None:
        verdict.fail("the newsroom database has no tables: run manage.py migrate on web1 with the new DATABASE_URL")


def _count(target: Target, table: str) -> int | None:
    """Rows in `table` of the app's database, None when the table does not exist."""
    if not sql(target, f"SELECT 1 FROM pg_tables WHERE tablename = {literal(table)}", DATABASE):
        return None
    return int(sql(target, f"SELECT count(*) FROM {table}", DATABASE)[0][0])


@check(CHAPTER, "survives-web-restart", "data written before web1 restarted is still served", points=2)
def survives_web_restart(target: Target, verdict: Verdict) -> None:
    rows = []
    if _count(target, "articles_marker") is not None:
        rows = sql(target, "SELECT extract(epoch FROM created_at) FROM articles_marker WHERE value = "
                           f"{literal(RESTART_MARKER)}", DATABASE)
    if not rows:
        raise ProbeError(f"no marker row '{RESTART_MARKER}' in db1: create it through the app "
                         f"(POST /api/markers/ value={RESTART_MARKER}), then restart web1 with lab.restart(\"web1\")")
    written = float(rows[0][0])
    # When web1's init started, to the microsecond: a command, since testinfra's process.lstart has whole
    # seconds only and its service.systemd_properties are a unit's, not the manager's.
    booted = float(target.ssh(WEB, 'date -u -d "$(systemctl show -P UserspaceTimestamp --timestamp=us+utc)" +%s.%N')
                   .stdout.strip())
    served = target.http(WEB, f"/api/markers/{RESTART_MARKER}/").status_code
    verdict.see(marker_written=_utc(written), web1_booted=_utc(booted), served_status=served)
    if booted <= written:
        verdict.fail("web1 has not restarted since the marker was written: run lab.restart(\"web1\")")
    if served != 200:
        verdict.fail(f"web1 does not serve the marker after its restart (HTTP {served}): is the app still "
                     "pointed at db1? Is apache2 enabled so it starts at boot?")


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S UTC")
