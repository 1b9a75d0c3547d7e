"""Streaming replication: a standby that is a live, read-only copy of the primary.

Example::

    clone_standby(lab, "db2", clone, primary="db1") # exercise 08a: the student's pg_basebackup script
    deploy_standby(lab, "db2", primary="db1")      # the course's (catch-up): clone db1, stream from it
    set_synchronous(lab.instance("db1"), "db2")     # commits wait until db2 has them
    rejoin_as_standby(lab, "db1", primary="db2")    # after a failover, the old primary follows

The standby is cloned with pg_basebackup through a replication slot it creates (`-C -S`: the
primary keeps every WAL segment the standby has not received yet) and `-R` (standby.signal
plus primary_conninfo, so it connects on start). The script that first made a server a
standby stays on it (CLONE_SCRIPT): exercise 08a's answer, the course's own saying so.
"""

from __future__ import annotations

from .. import configs, grading
from ..configs import COURSE_ANSWER
from ..errors import StackError
from ..lab import Instance, Lab
from ..progress import Progress
from ..sql import PG_LOG, literal
from ..waiting import wait_until
from .pgpool import (CONFIG_DIR, DATABASE_SERVERS, PCP_PORT, PCP_USER, database_hba, failover_held, find_primary,
                     is_primary, prepare_primary, replication_password, running)
from .postgres import CLUSTER, REPLICATION_USER, configure_postgres, course_hba, psql

DATA_DIR = "/var/lib/postgresql/15/main"
#: The script that made this server a standby (exercise 08a's answer), beside its data: a clone replaces the data only.
CLONE_SCRIPT = "/var/lib/postgresql/15/standby-clone.sh"
#: The first line of the course's clone script, which earns none of chapter 08's points.
ANSWER_TO_08A = f"{COURSE_ANSWER} 08a, which earns no points: write your own."
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


def clone_script(lab: Lab, standby: str, primary: str) -> str:
    """The course's script that clones `primary` into `standby`, run as postgres on the standby."""
    return (f"{ANSWER_TO_08A}\n"
            f"pg_basebackup -w -D {DATA_DIR} \\\n"
            f"    -R -X stream -c fast -C -S {slot_name(standby)} \\\n"
            f"    -d 'host={lab.planned_ip(primary)} user={REPLICATION_USER} application_name={standby}'\n")


def _clone(lab: Lab, standby: Instance, primary: Instance, progress: Progress, script: str | None = None) -> None:
    """Replace `standby`'s data with a fresh copy of `primary`'s, made by `script` (the student's,
    recorded as CLONE_SCRIPT once it worked) or the course's (recorded only where no script made
    this server a standby before: a repair keeps the student's answer), and start it streaming."""
    slot = slot_name(standby.name)
    course = script is None
    script = clone_script(lab, standby.name, primary.name) if course else script
    progress.say(standby.name, f"cloning {primary.name} with pg_basebackup (slot {slot})")
    previous = f"{DATA_DIR}.previous"
    recorded = not course or not standby.run(f"test -s {CLONE_SCRIPT}", readonly=True, check=False).ok
    standby.run(f"systemctl stop postgresql@15-main && rm -rf {previous} "
                f"&& if test -d {DATA_DIR}; then mv {DATA_DIR} {previous}; fi "
                f"&& install -d -o postgres -g postgres -m 700 {DATA_DIR}")
    _drop_slot(primary, slot)
    cloned = standby.run("cd / && runuser -u postgres -- bash -e", stdin=script, check=False, timeout=300)
    if cloned.exit_code != 0:
        # Its data back, so that the fixed script can run; started again only if it was a standby (an old
        # primary would make two), though without its slot (dropped above) it will not stream until cloned.
        standby.run(f"rm -rf {DATA_DIR} && mv {previous} {DATA_DIR} && if test -f {DATA_DIR}/standby.signal; "
                    "then systemctl start postgresql@15-main; fi", check=False)
        raise StackError(f"cloning {primary.name} into {standby.name} failed, and {standby.name} keeps the data it "
                         f"had: fix the script and run it again. pg_basebackup said: "
                         f"{(cloned.stderr or cloned.stdout).strip()[-600:]}")
    if recorded:
        standby.put_text(CLONE_SCRIPT, script, mode="755", owner="postgres:postgres")
    standby.run(f"rm -rf {previous} && echo auto > {CLUSTER}/start.conf && systemctl start postgresql@15-main")
    wait_for_streaming(standby, primary)


def _drop_slot(primary: Instance, slot: str) -> None:
    """Drop the slot an earlier clone of this standby left on `primary` (pg_basebackup -C makes it
    anew); the standby is stopped, so a walsender still holding the slot is ended first."""
    holders = f"FROM pg_replication_slots WHERE slot_name = {literal(slot)}"
    psql(primary, f"SELECT pg_terminate_backend(active_pid) {holders} AND active")
    if not wait_until(lambda: psql(primary, f"SELECT count(*) {holders} AND active", readonly=True).stdout.strip()
                      == "0", 15, 0.5):
        raise StackError(f"the replication slot {slot} on {primary.name} is still in use: see pg_stat_replication")
    psql(primary, f"SELECT pg_drop_replication_slot(slot_name) {holders}")


def wait_for_streaming(standby: Instance, primary: Instance, timeout: float = STREAMING_TIMEOUT) -> None:
    """Wait until `standby` streams from `primary`; else StackError with the standby's last
    complaint in its own log (a slot that does not exist, a refused login)."""
    if not wait_until(lambda: streams_from(standby, primary), timeout, 0.5):
        said = standby.run(f"tail -n 50 {PG_LOG} | grep -E 'FATAL|ERROR' | tail -n 1", readonly=True,
                           check=False).stdout.strip()
        raise StackError(f"{standby.name} does not stream from {primary.name} after {timeout:.0f}s"
                         + (f"; its log says: {said[-400:]}" if said else "")
                         + f" (all of it: workshop ssh {standby.name} tail -n 50 {PG_LOG})")


@grading.changes("deploy the standby {name}", fallback=grading.named_instance)
def deploy_standby(lab: Lab, name: str = "db2", primary: str = "db1", progress: Progress | None = None) -> Instance:
    """The reference deploy of chapter 08a: `name` a streaming standby of `primary`; idempotent."""
    progress = progress or Progress(f"deploy {name}")
    source = _prepare_primary(lab, primary)
    if name not in running(lab, (name,)) or not streams_from(lab.instance(name), source):
        _follow(lab, name, source, progress)
    progress.done(f"{name} streams from {primary}")
    return lab.instance(name)


@grading.changes("clone {primary} into the standby {name}", fallback=grading.named_instance)
def clone_standby(lab: Lab, name: str, script: str, primary: str = "db1", progress: Progress | None = None) -> Instance:
    """Exercise 08a: make `name` a standby of `primary` with the student's `script` (pg_basebackup,
    run as postgres on `name`), every time it is called; the rest is as the course's deploy."""
    progress = progress or Progress(f"clone {primary} into {name}")
    if not isinstance(script, str) or "pg_basebackup" not in script:
        raise StackError("`clone` must be the script (a string) that runs pg_basebackup on the standby: "
                         "see the task above")
    source = _prepare_primary(lab, primary)
    _follow(lab, name, source, progress, script)
    progress.done(f"{name} streams from {primary}, cloned by your script")
    return lab.instance(name)


def _prepare_primary(lab: Lab, primary: str) -> Instance:
    """The primary with its replication role, settings and pg_hba, or StackError if `primary` is a standby."""
    source = lab.instance(primary)
    if is_primary(source) is False:
        raise StackError(f"{primary} is a standby (in recovery), so nothing can be cloned from it: "
                         f"the primary is {find_primary(lab).name}")
    prepare_primary(lab, source)
    prepare_server(lab, source)
    psql(source, "SELECT pg_reload_conf()")
    return source


def ensure_standby(lab: Lab, progress: Progress | None = None) -> Instance:
    """Whatever happened before (nothing yet, a failover, a half-done exercise), the
    database server that is not the primary streams from the one that is."""
    primary = find_primary(lab)
    standby = next(name for name in DATABASE_SERVERS if name != primary.name)
    return deploy_standby(lab, standby, primary.name, progress)


def _follow(lab: Lab, name: str, primary: Instance, progress: Progress, script: str | None = None,
            pooler: str = "pgpool1") -> None:
    """Make `name` a standby of `primary` from whatever state it is in: configured like
    every database server, its data replaced by a fresh clone by `script` (or the course's;
    its own WAL may hold commits the primary never had), and given back to pgpool if pgpool
    knows it."""
    db = lab.up(name)
    configure_postgres(db, course_hba(db, database_hba(lab, name)), progress)
    set_synchronous(db, None)
    prepare_server(lab, db)
    _clone(lab, db, primary, progress, script)
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
