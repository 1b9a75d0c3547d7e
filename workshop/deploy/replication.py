"""Streaming replication: a standby that is a live, read-only copy of the primary.

Example::

    deploy_standby(lab, "db2", primary="db1")      # chapter 08: clone db1, stream from it
    set_synchronous(lab.instance("db1"), "db2")     # commits wait until db2 has them
    rejoin_as_standby(lab, "db1", primary="db2")    # after a failover, the old primary follows

The standby is cloned with pg_basebackup through a replication slot (so the
primary keeps every WAL segment the standby has not received yet) and `-R`
(standby.signal plus primary_conninfo, so it connects on start).
"""

from __future__ import annotations

from .. import configs, grading
from ..errors import StackError
from ..lab import Instance, Lab
from ..progress import Progress
from ..sql import literal
from ..waiting import wait_until
from .pgpool import (CONFIG_DIR, DATABASE_SERVERS, PCP_PORT, PCP_USER, database_hba, failover_held, find_primary,
                     is_primary, prepare_primary, replication_password, running)
from .postgres import CLUSTER, REPLICATION_USER, configure_postgres, course_hba, psql

DATA_DIR = "/var/lib/postgresql/15/main"
PGPASS = "/var/lib/postgresql/.pgpass"
STREAMING_TIMEOUT = 30
RESTART_TIMEOUT = 60


def slot_name(standby: str) -> str:
    return f"{standby}slot"


def streams_from(standby: Instance, primary: Instance) -> bool:
    """Whether `standby` is in recovery and its WAL receiver streams from `primary`."""
    result = psql(standby, "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver", readonly=True, check=False)
    return result.stdout.strip() == f"streaming {primary.private_ip}"


def prepare_server(lab: Lab, db: Instance) -> None:
    """What every database server of the pair has, whatever its role: replication
    settings, pg_hba for pgpool and the peer, the replication password in ~postgres/.pgpass."""
    db.update_text(f"{CLUSTER}/conf.d/replication.conf", configs.path("postgresql/replication.conf").read_text(),
                   owner="postgres:postgres")
    db.update_text(PGPASS, f"*:5432:replication:{REPLICATION_USER}:{replication_password(lab)}\n",
                   mode="600", owner="postgres:postgres")


def _clone(lab: Lab, standby: Instance, primary: Instance, progress: Progress) -> None:
    """Replace `standby`'s data with a fresh copy of `primary`'s and start it streaming
    through its own replication slot."""
    slot = slot_name(standby.name)
    psql(primary, f"SELECT pg_create_physical_replication_slot({literal(slot)}) "
                  f"WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = {literal(slot)})")
    progress.say(standby.name, f"cloning {primary.name} with pg_basebackup (slot {slot})")
    standby.run(f"systemctl stop postgresql@15-main && rm -rf {DATA_DIR} "
                f"&& install -d -o postgres -g postgres -m 700 {DATA_DIR} "
                f"&& cd / && runuser -u postgres -- pg_basebackup -w -D {DATA_DIR} -R -X stream -c fast -S {slot} "
                f"-d 'host={primary.private_ip} user={REPLICATION_USER} application_name={standby.name}' "
                f"&& echo auto > {CLUSTER}/start.conf && systemctl start postgresql@15-main", timeout=300)
    wait_for_streaming(standby, primary)


def wait_for_streaming(standby: Instance, primary: Instance, timeout: float = STREAMING_TIMEOUT) -> None:
    if not wait_until(lambda: streams_from(standby, primary), timeout, 0.5):
        raise StackError(f"{standby.name} does not stream from {primary.name} after {timeout:.0f}s: see "
                         f"journalctl -u postgresql@15-main on {standby.name}")


@grading.changes("deploy the standby {name}", fallback=grading.named_instance)
def deploy_standby(lab: Lab, name: str = "db2", primary: str = "db1", progress: Progress | None = None) -> Instance:
    """The reference deploy of chapter 08a: `name` a streaming standby of `primary`; idempotent."""
    progress = progress or Progress(f"deploy {name}")
    source = lab.instance(primary)
    prepare_primary(lab, source)
    prepare_server(lab, source)
    psql(source, "SELECT pg_reload_conf()")
    if name not in running(lab, (name,)) or not streams_from(lab.instance(name), source):
        _follow(lab, name, source, progress)
    progress.done(f"{name} streams from {primary}")
    return lab.instance(name)


def ensure_standby(lab: Lab, progress: Progress | None = None) -> Instance:
    """Whatever happened before (nothing yet, a failover, a half-done exercise), the
    database server that is not the primary streams from the one that is."""
    primary = find_primary(lab)
    standby = next(name for name in DATABASE_SERVERS if name != primary.name)
    return deploy_standby(lab, standby, primary.name, progress)


def _follow(lab: Lab, name: str, primary: Instance, progress: Progress, pooler: str = "pgpool1") -> None:
    """Make `name` a standby of `primary` from whatever state it is in: configured like
    every database server, its data replaced by a fresh clone (its own WAL may hold
    commits the primary never had), and given back to pgpool if pgpool knows it."""
    db = lab.up(name)
    configure_postgres(db, course_hba(db, database_hba(lab, name)), progress)
    set_synchronous(db, None)
    prepare_server(lab, db)
    _clone(lab, db, primary, progress)
    node = DATABASE_SERVERS.index(name)
    if pooler in running(lab, (pooler,)):
        lab.instance(pooler).run(f"if grep -q '^backend_hostname{node} ' {CONFIG_DIR}/pgpool.conf; then "
                                 f"pcp_attach_node -h localhost -p {PCP_PORT} -U {PCP_USER} -w -n {node}; fi")


@grading.changes("make {primary.name}'s commits wait for {standby}")
def set_synchronous(primary: Instance, standby: str | None) -> None:
    """Make commits on `primary` wait until `standby` has flushed them (None: asynchronous again)."""
    if primary.update_text(f"{CLUSTER}/conf.d/synchronous.conf", f"synchronous_standby_names = '{standby or ''}'\n",
                           owner="postgres:postgres"):
        primary.run("if systemctl is-active -q postgresql@15-main; then systemctl reload postgresql@15-main; fi")


@grading.changes("rejoin {name} as a standby of {primary}", fallback=grading.named_instance)
def rejoin_as_standby(lab: Lab, name: str, primary: str, progress: Progress | None = None) -> Instance:
    """Bring a failed primary back as a standby of the new one: start its machine, clone
    the new primary into it, give it back to pgpool (pcp_attach_node)."""
    progress = progress or Progress(f"rejoin {name}")
    _follow(lab, name, lab.instance(primary), progress)
    progress.done(f"{name} streams from {primary} and is back in pgpool")
    return lab.instance(name)


@grading.changes("restart {name} as planned", fallback=grading.named_instance)
def planned_restart(lab: Lab, name: str, machine: bool = False, progress: Progress | None = None) -> Instance:
    """Restart PostgreSQL on `name` (with `machine`, the whole machine) without a failover:
    pgpool holds its failover for `name` until it answers again. A restart is over in a
    second or two; unplanned, pgpool would take the primary for dead and promote the
    standby. A standby needs no hold (pgpool detaches it and takes it back once it streams
    again), but is held as well: the same procedure for both."""
    progress = progress or Progress(f"planned restart of {name}")
    with failover_held(lab, name):
        progress.say(name, "pgpool holds its failover; restarting " + ("the machine" if machine else "PostgreSQL"))
        if machine:
            lab.restart(name)
        else:
            lab.instance(name).run("systemctl restart postgresql@15-main")
        if wait_until(lambda: is_primary(lab.instance(name)), RESTART_TIMEOUT, 0.5,
                      done=lambda answer: answer is not None) is None:
            raise StackError(f"PostgreSQL on {name} does not answer {RESTART_TIMEOUT}s after its restart: "
                             f"journalctl -u postgresql@15-main on {name}")
    progress.done(f"{name} answers again; pgpool never failed it over")
    return lab.instance(name)
