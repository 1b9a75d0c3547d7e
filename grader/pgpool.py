"""Chapter 07, connection middleware: the app reaches PostgreSQL only through pgpool
on pgpool1 (seen from PostgreSQL's side, and enforced by it), pgpool's pool fits
in what PostgreSQL allows, and passwords are checked with SCRAM on both legs."""

from __future__ import annotations

import shlex

from workshop.errors import ConfigError
from workshop.pgpool_conf import backend_nodes, parse_settings, require_backend_lines
from workshop.sql import literal

from .course_answers import ANSWER_FILES, runs_answer
from .postgresql import sql
from .registry import check
from .result import Verdict
from .target import ProbeError, Target

CHAPTER = "07-pgpool"
POOLER, WEBS, DATABASE_SERVERS = "pgpool1", ("web1", "web2"), ("db1", "db2")
USER = DATABASE = "newsroom"
PGPOOL_CONF, POOL_HBA, POOL_PASSWD = "/etc/pgpool2/pgpool.conf", "/etc/pgpool2/pool_hba.conf", "/etc/pgpool2/pool_passwd"
#: pgpool-II 4.3's defaults for what the file may not set.
PGPOOL_DEFAULTS = {"num_init_children": "32", "max_pool": "4", "enable_pool_hba": "off", "port": "9999"}
WRONG_PASSWORD = "workshop-probe-wrong-password"
WEAK_METHODS = ("trust", "password", "md5")
ANSWER = ANSWER_FILES[CHAPTER]
#: What db1's backend lines must say, field by field, and why (the weight is the student's to choose).
DB1_BACKEND = {"port": ("5432", "PostgreSQL's port on db1"),
               "data_directory": ("/var/lib/postgresql/15/main", "Debian's cluster 15/main, where pgpool's "
                                  "recovery commands look"),
               "flag": ("ALLOW_TO_FAILOVER", "so that pgpool may detach the server and fail over, in chapter 08"),
               "application_name": ("db1", "the name db1 streams under once it is a standby: pgpool finds it by "
                                    "that name in the primary's pg_stat_replication, in chapter 08")}
INSTALL_BACKENDS = ANSWER.install  # the notebook cell installs both answers at once


def present(target: Target, names: tuple[str, ...]) -> list[str]:
    """Those of `names` the stack has."""
    return [name for name in names if name in target.require_stack().instances]


def pgpool_conf(target: Target) -> str:
    text = target.read_file(POOLER, PGPOOL_CONF)
    if text is None:
        raise ProbeError(f"pgpool1 has no {PGPOOL_CONF}: install pgpool2 and deploy its configuration")
    return text


def pgpool_settings(target: Target) -> dict[str, str]:
    """pgpool.conf on pgpool1 as pgpool reads it: the last assignment wins, defaults otherwise."""
    return {**PGPOOL_DEFAULTS, **parse_settings(pgpool_conf(target))}


def try_login(target: Target, source: str, host: str, port: str = "5432") -> tuple[bool, str]:
    """From `source`, log in as the app's user with a wrong password: (admitted?, server's message)."""
    conninfo = f"host={host} port={port} user={USER} dbname={DATABASE} password={WRONG_PASSWORD} connect_timeout=5"
    result = target.ssh(source, f"psql -X -w -At {shlex.quote(conninfo)} -c 'SELECT 1'")
    return result.ok, (result.stderr.strip().splitlines() or [""])[-1][:300]


@check(CHAPTER, "app-through-pgpool", "the app's connections reach PostgreSQL from pgpool1 only", points=2)
def app_through_pgpool(target: Target, verdict: Verdict) -> None:
    pooler_ip = target.record(POOLER).private_ip
    hosts = {web: target.health(web)["database"].get("host") for web in present(target, WEBS)}
    clients = {db: sorted({row[0] for row in sql(target, f"SELECT host(client_addr) FROM pg_stat_activity WHERE "
                                                          f"usename = {literal(USER)} AND client_addr IS NOT NULL", host=db)})
               for db in present(target, DATABASE_SERVERS) if target.state(db) == "running"}
    verdict.see(app_database_host=hosts, pgpool1=pooler_ip, app_connections_from=clients)
    for web, host in hosts.items():
        if host != pooler_ip:
            verdict.fail(f"{web}'s app connects to {host}, not to pgpool: set DATABASE_URL=postgres://newsroom:"
                         f"PASSWORD@{pooler_ip}:5432/newsroom in /etc/newsroom/env and restart apache2")
    for db, addresses in clients.items():
        others = [address for address in addresses if address != pooler_ip]
        if others:
            verdict.fail(f"{db} has app connections from {', '.join(others)}, not only from pgpool1 ({pooler_ip}): "
                         "every web server must go through pgpool")
    if clients and not any(pooler_ip in addresses for addresses in clients.values()):
        verdict.fail(f"no app connection on the database comes from pgpool1 ({pooler_ip}): is pgpool running "
                     "(systemctl status pgpool2 on pgpool1) with db1 as backend_hostname0?")


check(CHAPTER, "runs-your-pool-hba", ANSWER.title, points=1, answers=(ANSWER.variable,),
      stands_on=(ANSWER.machine,))(runs_answer(ANSWER))


@check(CHAPTER, "runs-your-backends", "pgpool1 runs the backend lines for db1 you wrote (`backends`)", points=1,
       answers=("backends",), stands_on=(POOLER,))
def runs_your_backends(target: Target, verdict: Verdict) -> None:
    written = target.answers.get("backends")
    if not isinstance(written, str) or not written.strip():
        verdict.fail("`backends` is not set: write db1's backend lines in the answer cell of exercise 07a as a "
                     f"string, run it, then install them ({INSTALL_BACKENDS})")
        return
    try:
        mine = require_backend_lines(written)[0]
    except ConfigError as error:
        verdict.fail(f"your `backends` are not backend lines pgpool can use: {error}")
        return
    db1 = target.record("db1").private_ip
    expected = {"hostname": (db1, "db1's private address"), **DB1_BACKEND}
    live = next((node for node in backend_nodes(pgpool_conf(target)).values() if node.get("hostname") == db1), None)
    verdict.see(your_node_0=mine, pgpool1_runs_for_db1=live)
    for field, (value, why) in expected.items():
        if mine[field] != value:
            verdict.fail(f"your backend_{field}0 is '{mine[field]}', not '{value}': {why}")
    if live is None:
        verdict.fail(f"pgpool1's {PGPOOL_CONF} has no backend for db1 ({db1}): install your lines ({INSTALL_BACKENDS})")
    elif any(live.get(field) != mine[field] for field in expected):
        verdict.fail(f"pgpool1 runs other lines for db1 than your `backends` ({PGPOOL_CONF} differs from them): run "
                     f"the answer cell, then install them ({INSTALL_BACKENDS})")


@check(CHAPTER, "database-refuses-direct", "the database refuses the app's user from a web server", points=2)
def database_refuses_direct(target: Target, verdict: Verdict) -> None:
    web = present(target, WEBS)[0]
    running = [db for db in present(target, DATABASE_SERVERS) if target.state(db) == "running"]
    if not running:
        raise ProbeError("no database server of the stack is running: start db1 (chapter 03) first")
    for db in running:
        admitted, message = try_login(target, web, target.record(db).private_ip)
        verdict.see(**{f"{web}_to_{db}": message or "logged in"})
        if admitted:
            verdict.fail(f"{db} let the app's user in from {web} with a wrong password (trust): pg_hba.conf must "
                         "admit newsroom from pgpool1's address only, with scram-sha-256")
        elif "no pg_hba.conf entry" not in message:
            if "password authentication failed" in message:
                verdict.fail(f"{db} admits the app's user from {web} (it asked for a password): in pg_hba.conf "
                             f"replace the web servers' lines for newsroom by one for pgpool1's address "
                             f"({target.record(POOLER).private_ip}/32), then reload PostgreSQL")
            else:
                raise ProbeError(f"could not test {db} from {web} ({message}): is PostgreSQL on {db} running?")


@check(CHAPTER, "pool-sizing", "pgpool never opens more connections than PostgreSQL allows", points=1)
def pool_sizing(target: Target, verdict: Verdict) -> None:
    settings = pgpool_settings(target)
    running = target.host(POOLER).service("pgpool2").is_running
    children, pool = int(settings["num_init_children"]), int(settings["max_pool"])
    max_connections, reserved = (int(sql(target, f"SHOW {name}")[0][0])
                                 for name in ("max_connections", "superuser_reserved_connections"))
    verdict.see(pgpool_running=running, num_init_children=children, max_pool=pool, max_connections=max_connections,
                superuser_reserved_connections=reserved)
    if not running:
        verdict.fail("pgpool is not running on pgpool1: systemctl enable --now pgpool2, and read its errors with "
                     "journalctl -u pgpool2")
    if children * pool > max_connections - reserved:
        verdict.fail(f"num_init_children * max_pool = {children} * {pool} = {children * pool} is more than db1 "
                     f"allows ordinary users ({max_connections} - {reserved} = {max_connections - reserved}): under "
                     "load clients would get 'too many clients'. Lower max_pool (one app user and database need 1-2) "
                     "or num_init_children")


@check(CHAPTER, "scram-end-to-end", "SCRAM from the web servers to pgpool and from pgpool to PostgreSQL", points=2)
def scram_end_to_end(target: Target, verdict: Verdict) -> None:
    settings = pgpool_settings(target)
    rules = [line.split() for line in (target.read_file(POOLER, POOL_HBA) or "").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    weak = [" ".join(rule) for rule in rules if rule[-1] in WEAK_METHODS]
    stored = [line.partition(":")[2] for line in (target.read_file(POOLER, POOL_PASSWD) or "").splitlines()
              if line.startswith(f"{USER}:")]
    pooler_ip = target.record(POOLER).private_ip
    backend_rules = [row for db in present(target, DATABASE_SERVERS) if target.state(db) == "running"
                     for row in sql(target, "SELECT coalesce(address, ''), auth_method, "
                                            "array_to_string(user_name, ',') FROM pg_hba_file_rules", host=db)
                     if row[0] == pooler_ip and row[2] in (USER, "all")]
    web = present(target, WEBS)[0]
    admitted, message = try_login(target, web, pooler_ip)
    verdict.see(enable_pool_hba=settings["enable_pool_hba"], weak_pool_hba_lines=weak,
                newsroom_in_pool_passwd=stored[0][:3] + "..." if stored else "missing",
                database_rules_for_pgpool1=[f"{row[2]} {row[1]}" for row in backend_rules],
                wrong_password_through_pgpool=message or "logged in")
    if settings["enable_pool_hba"] != "on":
        verdict.fail("enable_pool_hba is off: pgpool does not check who connects. Set enable_pool_hba = on and "
                     "list the web servers in pool_hba.conf with scram-sha-256")
    if weak:
        verdict.fail(f"pool_hba.conf lets clients in without SCRAM ({'; '.join(weak)}): use scram-sha-256")
    if admitted:
        verdict.fail(f"pgpool let the app's user in from {web} with a wrong password: every pool_hba.conf line "
                     "must use scram-sha-256")
    if not stored:
        verdict.fail("pool_passwd has no entry for newsroom: pgpool cannot log into PostgreSQL with SCRAM "
                     "without it (pg_enc -m -k ~postgres/.pgpoolkey -f /etc/pgpool2/pgpool.conf -u newsroom -p)")
    elif not stored[0].startswith("AES"):
        verdict.fail("pool_passwd keeps newsroom's password unencrypted or as an md5 hash: store it AES-encrypted "
                     "with pg_enc (key in ~postgres/.pgpoolkey)")
    if any(row[1] != "scram-sha-256" for row in backend_rules):
        verdict.fail("the database admits pgpool1 without scram-sha-256: use scram-sha-256 in pg_hba.conf")
