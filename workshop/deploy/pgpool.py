"""pgpool-II on its own server, between the web servers and PostgreSQL: one
address for the app whatever happens to the database servers behind it.

Example::

    deploy_pgpool(lab, "pgpool1", backends=("db1",))          # chapter 07
    deploy_pgpool(lab, "pgpool1", backends=("db1", "db2"))    # chapter 08: reads balanced, failover

pgpool listens on PostgreSQL's port, so the app's DATABASE_URL only changes
host (`database_url(lab, "pgpool1")`). It authenticates the app with SCRAM
and logs into PostgreSQL with SCRAM too, which needs the password itself:
pool_passwd holds it AES-encrypted with a key only pgpool's user can read.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from .. import configs, grading
from ..errors import ConfigError, StackError
from ..lab import Instance, Lab
from ..pgpool_conf import require_backend_lines
from ..pgpool_view import (PCP_NODES, PCP_PORT, PCP_USER, PORT, PROBE_PGPASS, SHOW_POOL_NODES, parse_pcp_nodes,
                           parse_pool_nodes)
from ..progress import Progress
from ..providers import RUNNING
from ..secrets import stack_secret
from ..waiting import wait_until
from .config_file import ConfigFile, keeping_own
from .postgres import (APP_CLIENTS, DATABASE, MONITOR_USER, REPLICATION_USER, USER, app_password, course_hba,
                       install_hba, psql, reference_hba, role_sql)

CONFIG_DIR = "/etc/pgpool2"
HOME = "/var/lib/postgresql"  # the postgres user's: pgpool runs as postgres
KEY_FILE = f"{HOME}/.pgpoolkey"
STATUS_FILE = "/var/log/postgresql/pgpool_status"
#: How long pgpool may take to find the primary among servers attached back.
PRIMARY_FOUND_S = 10
DATABASE_SERVERS = ("db1", "db2")
READY_TIMEOUT = 30
#: Marks the line failover_held adds to pgpool.conf, and removes again.
HELD = "# held for a planned restart"
#: Exercise 07a's answer file. pgpool has no checker for it (a file it cannot use shows in
#: wait_for_pgpool's login); the package's copy is the sample its documentation keeps.
POOL_HBA = ConfigFile(f"{CONFIG_DIR}/pool_hba.conf", check="", rejected="",
                      shipped="/usr/share/doc/pgpool2/examples/pool_hba.conf.sample")


@dataclass(frozen=True)
class Watching:
    """When pgpool takes a detached standby back, and when it stops reading from a lagging one."""

    auto_failback_interval: int = 10
    delay_threshold: int = 1024 * 1024  # bytes of WAL the standby's replay may trail the primary by


WATCHING = Watching()


@dataclass(frozen=True)
class PoolSize:
    """How many clients pgpool serves at once (num_init_children) and how many
    cached backend connections each of its children keeps (max_pool)."""

    num_init_children: int = 32
    max_pool: int = 2

    @property
    def backend_connections(self) -> int:
        """The most connections pgpool may open to each PostgreSQL server."""
        return self.num_init_children * self.max_pool

    def require_fits(self, max_connections: int, superuser_reserved: int) -> None:
        """Raise ConfigError unless every pooled connection fits in what PostgreSQL
        leaves to ordinary users: otherwise clients fail with "too many clients"
        under load instead of waiting for a free child."""
        available = max_connections - superuser_reserved
        if self.backend_connections > available:
            raise ConfigError(
                f"num_init_children * max_pool = {self.num_init_children} * {self.max_pool} = "
                f"{self.backend_connections} exceeds max_connections - superuser_reserved_connections = "
                f"{max_connections} - {superuser_reserved} = {available}: lower num_init_children or max_pool")


def monitor_password(lab: Lab) -> str:
    return stack_secret(lab.stack, "postgres-pgpool", 32)


def replication_password(lab: Lab) -> str:
    return stack_secret(lab.stack, "postgres-replicator", 32)


def database_hba(lab: Lab, name: str, app_clients: tuple[str, ...] = ("pgpool1",), pooler: str = "pgpool1") -> str:
    """pg_hba.conf of a database server behind pgpool: the app's user from `app_clients`
    (pgpool only, once the web servers go through it), pgpool's role from the pooler,
    streaming replication from the other database server; SCRAM everywhere."""
    peers = tuple(peer for peer in DATABASE_SERVERS if peer != name)
    return reference_hba(lab, name, clients=app_clients, monitors=(pooler,), replicas=peers)


def pgpool_conf(backend_lines: str, name: str = "pgpool1", size: PoolSize = PoolSize()) -> str:
    """pgpool.conf with `backend_lines` (exercise 07a's answer: `backend_hostname0 = ...`) for
    its database servers, load balancing reads as soon as there are two; ConfigError, before
    anything is installed, when they are not complete backend lines."""
    nodes = require_backend_lines(backend_lines)
    return configs.render("pgpool/pgpool.conf.j2", name=name, port=PORT, backend_lines=backend_lines.strip(),
                          num_init_children=size.num_init_children, max_pool=size.max_pool,
                          load_balance=len(nodes) > 1, monitor_user=MONITOR_USER, **asdict(WATCHING))


def reference_backend_lines(lab: Lab, backends: tuple[str, ...] = ("db1",)) -> str:
    """The course's backend lines for `backends`, node 0, 1, ... in that order."""
    return configs.render("pgpool/backends.conf.j2",
                          backends=[{"name": b, "address": lab.planned_ip(b)} for b in backends])


def reference_pgpool_conf(lab: Lab, name: str = "pgpool1", backends: tuple[str, ...] = ("db1",),
                          size: PoolSize = PoolSize()) -> str:
    """pgpool.conf with the course's lines for `backends`."""
    return pgpool_conf(reference_backend_lines(lab, backends), name, size)


def reference_pool_hba(lab: Lab, name: str = "pgpool1", clients: tuple[str, ...] = APP_CLIENTS) -> str:
    """pool_hba.conf admitting the app's user from the web servers, with SCRAM: the course's
    answer to exercise 07a (its first line says so)."""
    return configs.render("pgpool/pool_hba.conf.j2", name=name, database=DATABASE, user=USER,
                          app_clients=[lab.planned_ip(client) for client in clients])


@grading.changes("create pgpool's roles on {db.name}")
def prepare_primary(lab: Lab, db: Instance) -> None:
    """pgpool's role on the primary (it replicates to standbys): SCRAM password,
    pg_monitor to read replication state, the right to promote a standby; and the
    standby's replication role. Idempotent."""
    psql(db, role_sql(MONITOR_USER, monitor_password(lab)) + f"""
GRANT pg_monitor TO {MONITOR_USER};
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO {MONITOR_USER};
""" + role_sql(REPLICATION_USER, replication_password(lab), "LOGIN REPLICATION"))


def is_primary(db: Instance) -> bool | None:
    """True for a primary, False for a standby, None when PostgreSQL does not answer."""
    result = psql(db, "SELECT pg_is_in_recovery()", readonly=True, check=False, timeout=20)
    return {"f": True, "t": False}.get(result.stdout.strip()) if result.exit_code == 0 else None


def find_primary(lab: Lab, names: tuple[str, ...] = DATABASE_SERVERS) -> Instance:
    """The one running database server that is not in recovery."""
    primaries = [name for name in running(lab, names) if is_primary(lab.instance(name))]
    if len(primaries) != 1:
        raise StackError(f"expected exactly one primary among {', '.join(names)}, found {primaries or 'none'}")
    return lab.instance(primaries[0])


def running(lab: Lab, names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` whose machine runs (a killed primary stays down until it rejoins)."""
    states = lab.provider.states(lab.require_stack())
    return tuple(name for name in names if states.get(name) == RUNNING)


def pool_nodes(lab: Lab, pgpool: Instance) -> dict[str, dict[str, str]]:
    """{server name: its row of `SHOW pool_nodes`}: pgpool's own view of its servers now
    (status up/down, role, select_cnt, replication_delay, ...); {} when pgpool does not answer."""
    result = pgpool.run(SHOW_POOL_NODES, readonly=True, check=False, timeout=15)
    if result.exit_code != 0:
        return {}
    return parse_pool_nodes(result.stdout, {lab.planned_ip(name): name for name in DATABASE_SERVERS})


def pcp_nodes(lab: Lab, pgpool: Instance) -> dict[str, dict[str, str]]:
    """{server name: node_id, status, role, ...} from pgpool's admin port: answers even when
    pgpool has every server marked down (and accepts no session); {} when pcp does not answer."""
    result = pgpool.run(PCP_NODES, readonly=True, check=False, timeout=15)
    if result.exit_code != 0:
        return {}
    return parse_pcp_nodes(result.stdout, {lab.planned_ip(name): name for name in DATABASE_SERVERS})


def reattach_servers(lab: Lab, pgpool: Instance, progress: Progress) -> list[str]:
    """Give pgpool back the servers it keeps marked down although they answer again: the
    primary, if it is the only one, and standbys (a standby attached before it streams only
    lags, and delay_threshold keeps reads off it). A second primary is left out: it must
    be cloned again (rejoin_as_standby), never attached. Returns the names attached."""
    attached = []
    answers = {name: is_primary(lab.instance(name)) for name in running(lab, DATABASE_SERVERS)}
    primaries = [name for name, primary in answers.items() if primary]
    # The primary first: with only a standby up, pgpool searches for a primary and attaches nothing else meanwhile.
    for name, node in sorted(pcp_nodes(lab, pgpool).items(), key=lambda item: not answers.get(item[0])):
        if node.get("status") != "down" or answers.get(name) is None:
            continue
        if answers[name] and primaries != [name]:
            continue
        progress.say(pgpool.name, f"pgpool had {name} marked down though it answers: attaching it again")
        pgpool.run(f"pcp_attach_node -h localhost -p {PCP_PORT} -U {PCP_USER} -w -n {node['node_id']}")
        attached.append(name)
    if attached and len(primaries) == 1 and not wait_until(lambda: holds_primary_up(lab, pgpool), PRIMARY_FOUND_S, 0.5):
        # Attached back with no primary known (both were detached), pgpool can keep every server a
        # standby; started without pgpool_status it asks each server its role afresh. Safe with one
        # primary answering: nothing pgpool_status kept out (a second primary) is left to let in.
        progress.say(pgpool.name, f"pgpool sees no primary after attaching {', '.join(attached)}: restarting it "
                                  "without its saved node status, so it asks each server its role")
        pgpool.run(f"systemctl stop pgpool2 && rm -f {STATUS_FILE} && systemctl start pgpool2")
        wait_for_pgpool(lab, pgpool)
    return attached


def holds_primary_up(lab: Lab, pgpool: Instance) -> bool:
    """Whether pgpool has a server it takes for the primary up (or about to be: waiting)."""
    return any(node.get("role") == "primary" and node.get("status") in ("up", "waiting")
               for node in pcp_nodes(lab, pgpool).values())


@contextmanager
def failover_held(lab: Lab, server: str, name: str = "pgpool1"):
    """Inside, pgpool does not fail `server` over, however its sessions or health checks fail
    (backend_flag DISALLOW_TO_FAILOVER, appended to the pgpool.conf it runs and reloaded):
    for a planned restart of the primary, which would otherwise promote the standby."""
    pgpool = lab.instance(name)
    node = pcp_nodes(lab, pgpool).get(server, {}).get("node_id")
    if node is None:
        raise StackError(f"pgpool on {name} does not list {server} (pcp_node_info): "
                         "is pgpool2 running there, with both database servers in pgpool.conf?")
    pgpool.run(f"echo \"backend_flag{node} = 'DISALLOW_TO_FAILOVER'  {HELD}\" >> {CONFIG_DIR}/pgpool.conf "
               "&& systemctl reload pgpool2")
    try:
        yield
    finally:
        pgpool.run(f"sed -i '/{HELD}$/d' {CONFIG_DIR}/pgpool.conf && systemctl reload pgpool2")


def pooled(lab: Lab, name: str = "pgpool1") -> bool:
    """Whether pgpool serves on `name`: from chapter 07 on, the app's way to its database."""
    return lab.serves(name, "pgpool2")


def backend_limits(db: Instance) -> tuple[int, int]:
    """(max_connections, superuser_reserved_connections) of a running server."""
    values = psql(db, "SHOW max_connections; SHOW superuser_reserved_connections", readonly=True).stdout.split()
    return int(values[0]), int(values[1])


@grading.changes("configure pgpool on {pgpool.name}")
def configure_pgpool(lab: Lab, pgpool: Instance, conf: str, pool_hba: str | None = None,
                     progress: Progress | None = None) -> None:
    """Install pgpool.conf, pool_hba.conf (None keeps the one installed: exercise 07a's answer,
    when chapter 08 adds a server), the failover script and the encrypted passwords;
    (re)start pgpool when something changed; wait until the app's user gets through it to
    PostgreSQL (SCRAM on both legs)."""
    progress = progress or Progress(f"pgpool on {pgpool.name}")
    if pool_hba is None:
        pool_hba = pgpool.run(f"cat {POOL_HBA.path}", readonly=True).stdout
    progress.say(pgpool.name, "configuring pgpool (backends, pool, SCRAM passwords, failover)")
    passwords = {USER: app_password(lab), MONITOR_USER: monitor_password(lab)}
    pcp_password = stack_secret(lab.stack, "pgpool-pcp", 32)
    before = pgpool.run(f"cat {CONFIG_DIR}/.workshop-digest 2>/dev/null", readonly=True, check=False).stdout
    backends_before = pgpool.run(f"grep ^backend_hostname {CONFIG_DIR}/pgpool.conf", readonly=True, check=False).stdout
    # Each file is written only if it differs: the digest below decides on a restart.
    pgpool.update_text(f"{CONFIG_DIR}/pgpool.conf", conf, mode="640", owner="root:postgres")
    pgpool.update_text(POOL_HBA.path, pool_hba, mode="640", owner="root:postgres")
    pgpool.update_text(f"{CONFIG_DIR}/failover.sh", configs.path("pgpool/failover.sh").read_text(), mode="755")
    pgpool.update_text(KEY_FILE, stack_secret(lab.stack, "pgpool-key", 40) + "\n", mode="600",
                       owner="postgres:postgres")
    # failover.sh logs into the new primary as pgpool's role to promote it.
    pgpool.update_text(f"{HOME}/.pgpass", f"*:5432:postgres:{MONITOR_USER}:{monitor_password(lab)}\n",
                       mode="600", owner="postgres:postgres")
    pgpool.put_text("/root/.pgpool-users", "".join(f"{u}:{p}\n" for u, p in passwords.items()), mode="600")
    pgpool.run(f"pg_enc -m -k {KEY_FILE} -f {CONFIG_DIR}/pgpool.conf -i /root/.pgpool-users >/dev/null "
               "&& rm /root/.pgpool-users")
    # pcp (pgpool's admin port, localhost only) re-attaches a rejoined server.
    # pcp.conf holds the md5 of the password, as pg_md5 prints it (hashed here: no password on a command line).
    pgpool.update_text(f"{CONFIG_DIR}/pcp.conf", f"{PCP_USER}:{hashlib.md5(pcp_password.encode()).hexdigest()}\n",
                       mode="640", owner="root:postgres")
    pgpool.put_text("/root/.pcppass", f"localhost:{PCP_PORT}:{PCP_USER}:{pcp_password}\n", mode="600")
    after = pgpool.run(f"cd {CONFIG_DIR} && cat pgpool.conf pool_hba.conf pool_passwd pcp.conf failover.sh {KEY_FILE} "
                       f"| sha256sum | tee .workshop-digest").stdout
    pgpool.run("systemctl enable -q pgpool2")
    if before != after or pgpool.run("systemctl is-active -q pgpool2", readonly=True, check=False).exit_code:
        progress.say(pgpool.name, "restarting pgpool")
        # pgpool_status remembers which servers were detached (a failed primary must
        # stay out); a new list of servers starts from a clean slate.
        forget = backends_before != "".join(f"{line}\n" for line in conf.splitlines() if line.startswith("backend_hostname"))
        pgpool.run(f"systemctl stop pgpool2 {'&& rm -f ' + STATUS_FILE if forget else ''} && systemctl start pgpool2")
    else:
        reattach_servers(lab, pgpool, progress)
    wait_for_pgpool(lab, pgpool)


def wait_for_pgpool(lab: Lab, pgpool: Instance, timeout: float = READY_TIMEOUT) -> None:
    """Until the app's user logs in through pgpool (SCRAM to pgpool, SCRAM from pgpool
    to PostgreSQL) and runs a query; ConfigError with pgpool's log otherwise."""
    pgpool.update_text(PROBE_PGPASS, f"127.0.0.1:{PORT}:{DATABASE}:{USER}:{app_password(lab)}\n", mode="600")
    command = (f"PGPASSFILE={PROBE_PGPASS} PGCONNECT_TIMEOUT=5 psql -X -w -At -h 127.0.0.1 -p {PORT} "
               f"-U {USER} -d {DATABASE} -c 'SELECT 1'")
    result = wait_until(lambda: pgpool.run(command, readonly=True, check=False, timeout=15), timeout, 1,
                        done=lambda login: login.exit_code == 0)
    if result.exit_code != 0:
        log = pgpool.run("journalctl -u pgpool2 -n 15 --no-pager -o cat", readonly=True, check=False).stdout
        raise ConfigError(f"the app's user cannot get through pgpool on {pgpool.name} "
                          f"({result.stderr.strip()[:300]}); pgpool's log:\n{log}")


@grading.changes("deploy pgpool on {name}", fallback=grading.named_instance)
def deploy_pgpool(lab: Lab, name: str = "pgpool1", backends: tuple[str, ...] = ("db1",),
                  progress: Progress | None = None) -> Instance:
    """The reference deploy of pgpool in front of `backends` (node 0, 1, ... in that order);
    idempotent. The database servers admit pgpool (and, until the web servers move,
    the web servers too: tighten with `restrict_to_pooler`)."""
    progress = progress or Progress(f"deploy {name}")
    prepare_primary(lab, find_primary(lab, backends))
    size = PoolSize()
    for backend in running(lab, backends):
        size.require_fits(*backend_limits(lab.instance(backend)))
        admit_pooler(lab, backend, name)
    pgpool = lab.up(name)
    configure_pgpool(lab, pgpool, reference_pgpool_conf(lab, name, backends, size),
                     keeping_own(pgpool, POOL_HBA, reference_pool_hba(lab, name), progress), progress)
    progress.done(f"{name} pools connections to {', '.join(backends)}")
    return pgpool


@grading.changes("admit {pooler} to {name}")
def admit_pooler(lab: Lab, name: str = "db1", pooler: str = "pgpool1") -> None:
    """The database server `name` admits pgpool (its role, and the app's user through it) and,
    until they go through pgpool, the web servers too (a reload: no session is dropped)."""
    db = lab.instance(name)
    install_hba(db, course_hba(db, database_hba(lab, name, (pooler,) + APP_CLIENTS, pooler)))


@grading.changes("admit the app's user to the database from {pooler} only")
def restrict_to_pooler(lab: Lab, backends: tuple[str, ...] = ("db1",), pooler: str = "pgpool1") -> None:
    """Once every web server goes through pgpool: the database servers admit the
    app's user from pgpool's address only."""
    for backend in backends:
        db = lab.instance(backend)
        install_hba(db, course_hba(db, database_hba(lab, backend, (pooler,), pooler)))
