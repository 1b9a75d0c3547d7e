"""PostgreSQL on its own server: listening where it must, password (SCRAM)
authentication for the app's user from the web servers only.

Example::

    db1 = deploy_database_server(lab, "db1")
    database_url(lab, "db1")
    # -> 'postgres://newsroom:...@10.213.7.41:5432/newsroom'
"""

from __future__ import annotations

import shlex

from .. import configs, grading
from ..configs import COURSE_ANSWER
from ..lab import Instance, Lab
from ..progress import Progress
from ..scram import scram_secret
from ..secrets import stack_secret
from ..sql import literal, superuser_psql
from .config_file import ConfigFile, keeping_own, put_config

CLUSTER = "/etc/postgresql/15/main"
# The running server parses the file on disk for pg_hba_file_rules: one row per line, `error` set where it cannot.
HBA_ERRORS = "SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL"
HBA = ConfigFile(f"{CLUSTER}/pg_hba.conf",
                 check=f"errors=$({superuser_psql()} <<< {shlex.quote(HBA_ERRORS)} 2>&1) && [ -z \"$errors\" ] "
                       "|| { echo \"$errors\"; false; }",
                 rejected="PostgreSQL rejected pg_hba.conf", mode="640", owner="postgres:postgres",
                 service="postgresql@15-main", shipped=f"{CLUSTER}/pg_hba.conf.debian")
RESTART = "systemctl restart postgresql@15-main"
DATABASE = USER = "newsroom"
#: Web servers that may reach the database (chapter 07 replaces them with pgpool).
APP_CLIENTS = ("web1", "web2")
#: pgpool's own role (health checks, streaming checks, promotion) and the standby's.
MONITOR_USER, REPLICATION_USER = "pgpool", "replicator"
#: The first line of the course's pg_hba.conf for chapter 03, which is exercise 03's answer.
ANSWER_TO_03 = f"{COURSE_ANSWER} 03, which earns no points: write your own."


def app_password(lab: Lab) -> str:
    return stack_secret(lab.stack, "postgres-newsroom", 32)


def database_url(lab: Lab, host: str = "db1") -> str:
    """The app's DATABASE_URL for the database server `host` (by private address)."""
    return f"postgres://{USER}:{app_password(lab)}@{lab.planned_ip(host)}:5432/{DATABASE}"


def reference_hba(lab: Lab, name: str = "db1", clients: tuple[str, ...] = APP_CLIENTS,
                  monitors: tuple[str, ...] = (), replicas: tuple[str, ...] = (), marks: tuple[str, ...] = ()) -> str:
    """pg_hba.conf admitting the app's user from `clients`, pgpool's role from `monitors`
    and streaming replication from `replicas` (instance names), all with SCRAM; `marks`
    are its first lines (ANSWER_TO_03 where it is the course's answer to exercise 03)."""
    return configs.render("postgresql/pg_hba.conf.j2", name=name, marks=marks, database=DATABASE, user=USER,
                          app_clients=[lab.planned_ip(client) for client in clients],
                          monitor_user=MONITOR_USER, monitor_clients=[lab.planned_ip(m) for m in monitors],
                          replication_user=REPLICATION_USER, replication_peers=[lab.planned_ip(r) for r in replicas])


def psql(db: Instance, sql: str, database: str = "postgres", readonly: bool = False, check: bool = True,
         timeout: float = 120):
    """Run SQL as the postgres superuser over the local socket (peer authentication);
    the SQL goes on stdin, so no password in it shows in a process list or an error."""
    return db.run(superuser_psql(database), stdin=sql, readonly=readonly, check=check, timeout=timeout)


@grading.changes("configure PostgreSQL on {db.name}")
def configure_postgres(db: Instance, hba: str, progress: Progress | None = None) -> None:
    """Listen on the private address, install `hba` as pg_hba.conf and restart, if
    either changed (a restart drops every session: pgpool's too).

    A pg_hba.conf PostgreSQL cannot parse is put back as it was, and the
    server's own error lines are raised as ConfigError.
    """
    progress = progress or Progress(f"PostgreSQL on {db.name}")
    progress.say(db.name, "configuring PostgreSQL (listen addresses, scram, pg_hba)")
    settings = db.update_text(f"{CLUSTER}/conf.d/workshop.conf",
                              configs.render("postgresql/workshop.conf.j2", private_ip=db.private_ip),
                              owner="postgres:postgres")
    db.run(f"echo auto > {CLUSTER}/start.conf && systemctl enable -q postgresql && systemctl start postgresql@15-main")
    if not put_config(db, HBA, hba, apply=RESTART) and settings:
        db.run(RESTART)


def course_hba(db: Instance, hba: str) -> str:
    """`hba`, the course's pg_hba.conf for a later chapter, as it replaces `db`'s: keeping the
    marks of a course answer it replaces (ANSWER_TO_03), so that a given cell or catch-up
    never makes the course's answer to 03 pass for the student's. Over a file the student
    wrote (no mark) it carries none: 03's points stay theirs, whatever later chapters install."""
    live = db.run(f"cat {HBA.path}", readonly=True, check=False).stdout
    marks = [line for line in live.splitlines() if line.startswith(COURSE_ANSWER) and line not in hba]
    return "".join(f"{mark}\n" for mark in marks) + hba


@grading.changes("install pg_hba.conf on {db.name}")
def install_hba(db: Instance, hba: str) -> None:
    """Install `hba` as pg_hba.conf and reload: no restart, so the sessions of a
    running server (and pgpool's view of it) survive. Rejected files are put back."""
    put_config(db, HBA, hba, apply="systemctl reload postgresql@15-main")


def role_sql(role: str, password: str, attributes: str = "LOGIN") -> str:
    """psql input that creates `role` if it is missing and sets its password as a SCRAM secret
    made here, so the password never reaches the server (`role` and `attributes` are the code's
    own constants; the secret is a quoted literal)."""
    return f"""
SELECT 'CREATE ROLE {role} {attributes}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec
ALTER ROLE {role} PASSWORD {literal(scram_secret(password))};
"""


@grading.changes("create the app's database on {db.name}")
def create_app_database(db: Instance, password: str) -> None:
    """The app's role (SCRAM password) and database; idempotent."""
    psql(db, role_sql(USER, password) + f"""SELECT 'CREATE DATABASE {DATABASE} OWNER {USER}'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec
""")


@grading.changes("deploy the database server {name}", fallback=grading.named_instance)
def deploy_database_server(lab: Lab, name: str = "db1", progress: Progress | None = None) -> Instance:
    """The reference deploy of chapter 03's database server; idempotent."""
    progress = progress or Progress(f"deploy {name}")
    db = lab.up(name)
    configure_postgres(db, keeping_own(db, HBA, reference_hba(lab, name, marks=(ANSWER_TO_03,)), progress), progress)
    create_app_database(db, app_password(lab))
    progress.done(f"{name} serves PostgreSQL")
    return db
