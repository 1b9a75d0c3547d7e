"""Chapter 08's checks on a scripted stack, after a rehearsed failover (db2 primary, db1 streaming from it):
each passes, and names the fix when broken."""

import re

import pytest

from grader.result import PASSED

from tests.unit.record_samples import failover_drill
from workshop.records import failover_agent

from .kit import PRIVATE_IPS, access_log, assert_hint, check_ids, own_answer, respond, rows, run

CHAPTER = "08-replication"
DB1, DB2 = PRIVATE_IPS["db1"], PRIVATE_IPS["db2"]
# 300 writes; db1 killed as write 100 was sent; 100-139 failed until pgpool promoted db2
STATUSES = [201] * 100 + [500] * 40 + [201] * 160
RUN = failover_drill("units").to_dict()
ACKNOWLEDGED = [f"{RUN['marker_prefix']}{index:04d}" for index, status in enumerate(STATUSES) if status == 201]
#: The checks that read the recorded drill, each re-reading it from the servers.
DRILL_CHECKS = ["standby-promoted", "writes-after-failover", "no-acknowledged-write-lost", "pair-whole-again"]
DRILL = {**RUN, "requests": 300, "killed_after": 100, "acknowledged": len(ACKNOWLEDGED),
         "acknowledged_markers": ACKNOWLEDGED, "acknowledged_after_kill": 160, "failed": 40, "unavailable_s": 1.2}


def logged(target, statuses=STATUSES, run_id=RUN["run_id"]):
    """lb1's access log shows the drill's writes, each with its number, answered with `statuses`."""
    agents = [failover_agent("db1", run_id, index) for index in range(len(statuses))]
    target.on_ssh("lb1", "/var/log/nginx/access.log*", access_log(agents, statuses, seconds=10))


class Markers:
    """Marker rows written through the app, on the servers they reached (`lagging` servers get none)."""

    def __init__(self, target, lagging=()):
        self.rows = {"db1": set(ACKNOWLEDGED), "db2": set(ACKNOWLEDGED)}
        self.lagging = lagging
        target.on_http("web1", "/api/markers/", self.write, method="POST")
        for name in self.rows:
            target.on_ssh(name, "FROM articles_marker WHERE value IN", lambda command, name=name: self.select(name, command))
            target.on_ssh(name, "FROM articles_marker WHERE starts_with(value,",
                          lambda command, name=name: self.starting(name, command))

    def write(self, path, kwargs):
        for name, values in self.rows.items():
            if name not in self.lagging:
                values.add(kwargs["data"]["value"])
        return respond(201, json=kwargs["data"])

    def starting(self, name, command):
        prefix = re.search(r"starts_with\(value, '([^']*)'\)", command)[1]
        return rows(*[(value,) for value in sorted(self.rows[name]) if value.startswith(prefix)])

    def select(self, name, command):
        return rows(*[(value,) for value in re.findall(r"'([^']+)'", command.split(" IN ", 1)[1])
                      if value in self.rows[name]])


PGPOOL_CONF = "sr_check_period = 2\ndelay_threshold = 1048576\nload_balance_mode = on\n"


class Replay:
    """db1's replay, which the lag probe pauses, and the app's reads: each one is a transaction
    on db1 and a select pgpool counts for it (SHOW pool_nodes), except while db1 is paused
    behind when pgpool `honours_delay`; then pgpool sends it to db2."""

    def __init__(self, target, honours_delay=True):
        self.commits, self.paused, self.honours_delay, self.calls = 100, False, honours_delay, []
        self.selects = {"db1": 66, "db2": 180}
        target.on_ssh("db1", "pg_wal_replay_pause", lambda command: self.pause(True))
        target.on_ssh("db1", "pg_wal_replay_resume", lambda command: self.pause(False))
        target.on_ssh("db2", "pg_logical_emit_message", rows(("0/5000000",)))
        target.on_ssh("db1", "FROM pg_stat_database", lambda command: rows((self.commits,)))
        target.on_ssh("pgpool1", "SHOW pool_nodes", lambda command: self.pool_nodes())
        target.on_http("web1", "/api/markers/", self.read)

    def pause(self, paused):
        self.paused = paused
        self.calls.append("pause" if paused else "resume")
        return ""

    def behind(self):
        """Whether pgpool sees db1 behind (and so sends the app's reads to db2)."""
        return self.paused and self.honours_delay

    def read(self, path, kwargs):
        if self.behind():
            self.selects["db2"] += 1
        else:
            self.commits += 1
            self.selects["db1"] += 1
        return respond(json=[])

    def pool_nodes(self):
        delay = 2_097_152 if self.behind() else 0
        return ("node_id,hostname,port,status,role,select_cnt,replication_delay\n"
                f"0,{DB1},5432,up,standby,{self.selects['db1']},{delay}\n"
                f"1,{DB2},5432,up,primary,{self.selects['db2']},0\n")


class MeasuredLate(Replay):
    """pgpool as it runs: it sees the paused standby behind only at its `measurements`-th
    SHOW pool_nodes (its sr_check_period), and balances reads to it until then."""

    def __init__(self, target, measurements):
        super().__init__(target)
        self.measurements, self.shown = measurements, 0

    def behind(self):
        return self.paused and self.shown >= self.measurements

    def pool_nodes(self):
        self.shown += self.paused
        return super().pool_nodes()


def roles(target, db1="t", db2="f"):
    """What pg_is_in_recovery() answers on each server (t: standby, f: primary)."""
    target.on_ssh("db1", "pg_is_in_recovery", f"{db1}\n")
    target.on_ssh("db2", "pg_is_in_recovery", f"{db2}\n")


@pytest.fixture
def healthy(target, clock):
    roles(target)
    target.on_ssh("db2", "FROM pg_stat_replication", rows((DB1, "db1", "streaming")))
    target.on_ssh("db2", "pg_wal_lsn_diff", rows((128,)))
    target.on_ssh("db1", "FROM pg_stat_wal_receiver", rows(("streaming", DB2, "db1_slot")))
    target.on_ssh("db2", "FROM pg_replication_slots", rows(("db1_slot",)))
    for server in ("db1", "db2"):
        target.on_ssh(server, "postgresql-15-main.log", "LOG:  database system is ready to accept read-only connections\n")
    Replay(target)
    target.facts("pgpool1").files["/etc/pgpool2/pgpool.conf"] = PGPOOL_CONF
    target.on_ssh("db2", "pg_walfile_name", rows(("00000002",)))
    Markers(target)
    target.recordings["failover-db1.json"] = dict(DRILL)
    logged(target)
    return target




@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_after_a_rehearsed_failover(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, **own_answer(healthy, CHAPTER))
    assert (result.status, result.hints) == (PASSED, [])


def drill(**fields):
    return lambda t: t.recordings["failover-db1.json"].update(fields)


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("standby-in-recovery", lambda t: roles(t, db1="f", db2="f"), "db1 and db2 are both primaries (split brain)"),
    ("standby-in-recovery", lambda t: roles(t, db1="t", db2="t"), "neither db1 nor db2 accepts writes"),
    ("standby-in-recovery", lambda t: t.states.update(db1="stopped"),
     "db1 is not a standby (down): clone db2 into it with pg_basebackup -R -S SLOT"),
    ("standby-in-recovery", lambda t: t.stack.instances.pop("db2"), "the stack has no instance db2"),
    ("streaming-with-slot", lambda t: t.on_ssh("db2", "FROM pg_stat_replication", ""),
     "db1 is in recovery but does not stream from db2"),
    ("streaming-with-slot", lambda t: t.on_ssh("db1", "FROM pg_stat_wal_receiver", rows(("streaming", DB2, ""))),
     "db1 streams without a replication slot"),
    ("streaming-with-slot", lambda t: t.on_ssh("db2", "FROM pg_stat_replication", rows((DB1, "15/main", "streaming"))),
     "db1 streams as application_name '15/main', not 'db1': the primary knows a standby by that name"),
    ("small-lag", lambda t: t.on_ssh("db2", "pg_wal_lsn_diff", ""), "db2 has no replay position from db1"),
    ("small-lag", lambda t: t.on_ssh("db2", "pg_wal_lsn_diff", rows((5_000_000,))),
     "db1 is 5000000 bytes of WAL behind db2"),
    ("fresh-write-on-standby", lambda t: t.on_http("web1", "/api/markers/", respond(500), method="POST"),
     "writing through the app on web1 failed (HTTP 500)"),
    ("fresh-write-on-standby", lambda t: Markers(t, lagging=("db1",)),
     "is not on db1 after 5s: db1 is not receiving db2's WAL"),
    ("reads-reach-standby", lambda t: t.on_ssh("db1", "FROM pg_stat_database", rows((100,))),
     "none of 20 reads through the app reached db1"),
    ("lagging-standby-skipped", lambda t: Replay(t, honours_delay=False),
     "pgpool sent 20 of the app's reads to db1 while it was 2097152 bytes of WAL behind db2, over pgpool.conf's "
     "delay_threshold = 1048576"),
    ("lagging-standby-skipped", lambda t: t.on_ssh("pgpool1", "SHOW pool_nodes", Replay(t).pool_nodes()),
     "none of 20 reads through the app on web1 reached pgpool's servers"),
    ("lagging-standby-skipped", lambda t: t.on_ssh("pgpool1", "SHOW pool_nodes", "", exit_code=2,
                                                   stderr="psql: error: connection refused"),
     "pgpool1 did not answer SHOW pool_nodes (psql: error: connection refused)"),
    ("lagging-standby-skipped", lambda t: t.facts("pgpool1").files.update(
        {"/etc/pgpool2/pgpool.conf": PGPOOL_CONF.replace("delay_threshold = 1048576", "delay_threshold = 104857600")}),
     "delay_threshold = 104857600 lets a standby fall 100 MB of WAL behind"),
    ("lagging-standby-skipped", lambda t: t.facts("pgpool1").files.update(
        {"/etc/pgpool2/pgpool.conf": PGPOOL_CONF.replace("delay_threshold = 1048576", "delay_threshold = 0")}),
     "pgpool.conf sets no delay_threshold"),
    ("lagging-standby-skipped", lambda t: t.facts("pgpool1").files.update(
        {"/etc/pgpool2/pgpool.conf": PGPOOL_CONF.replace("sr_check_period = 2", "sr_check_period = 0")}),
     "sr_check_period = 0"),
    ("standby-promoted", lambda t: t.recordings.clear(), "no failover drill recorded"),
    ("standby-promoted", drill(stack="other"), "the recorded failover drill for db1 ran against stack other, not units"),
    ("standby-promoted", lambda t: roles(t, db1="f", db2="f"), "db1 and db2 are both primaries (split brain)"),
    ("standby-promoted", lambda t: roles(t, db1="t", db2="t"), "no database server accepts writes"),
    ("standby-promoted", drill(survivor_promoted=False), "the standby was not promoted when the primary died"),
    ("standby-promoted", lambda t: t.on_ssh("db2", "pg_walfile_name", rows(("00000001",))),
     "the standby was not promoted when the primary died"),
    ("writes-after-failover", lambda t: (logged(t, STATUSES[:150]), drill(requests=150)(t)),
     "the drill sent only 150 writes"),
    ("writes-after-failover", lambda t: logged(t, [201] * 100 + [500] * 197 + [201] * 3),
     "lb1's access log shows only 3 writes acknowledged after the drill's first failed one"),
    ("writes-after-failover", lambda t: Markers(t, lagging=("db2",)),
     "a write through the app did not land on the primary"),
    ("no-acknowledged-write-lost", lambda t: roles(t, db1="t", db2="t"),
     "no database server accepts writes: there is no primary to look for the drill's markers on"),
    ("no-acknowledged-write-lost", lambda t: logged(t, [500] * 300), "lb1 acknowledged none of the drill's writes"),
    ("no-acknowledged-write-lost", lambda t: (lost(t, 3), t.recordings["failover-db1.json"].update(lost=3)),
     f"3 writes the app acknowledged are not on db2 (e.g. {ACKNOWLEDGED[0]})"),
    ("pair-whole-again", lambda t: t.recordings.clear(), "no failover drill recorded"),
    ("pair-whole-again", lambda t: t.states.update(db1="stopped"),
     "db1 is not back since the drill killed it: starting it is not enough (it would come back a primary of its "
     "own). Clone db2 into it and give it back to pgpool: replication.rejoin_as_standby(lab, \"db1\", primary=\"db2\")"),
    ("pair-whole-again", lambda t: roles(t, db1="f", db2="f"), "db1 and db2 are both primaries (split brain)"),
    ("pair-whole-again", lambda t: t.on_ssh("db1", "FROM pg_stat_wal_receiver", ""),
     "db1 is in recovery but does not stream from db2: it replays only what it was restored with"),
    ("pair-whole-again", lambda t: t.on_ssh("pgpool1", "SHOW pool_nodes", Replay(t).pool_nodes().replace(
        f"0,{DB1},5432,up,", f"0,{DB1},5432,down,")),
     "pgpool still holds db1 down (SHOW pool_nodes on pgpool1), so no read goes there and it cannot take over"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def test_the_lag_probe_reads_once_pgpool_has_measured_the_standby_behind(healthy):
    """A fixed wait reads as soon as it ends; the check waits until SHOW pool_nodes shows the
    standby behind, as pgpool's load balancer sees it, so no read goes out before pgpool knows."""
    MeasuredLate(healthy, measurements=4)
    assert run(healthy, CHAPTER, "lagging-standby-skipped").passed


def lost(target, count):
    """The first `count` acknowledged writes never reached db2 (the promoted standby)."""
    Markers(target).rows["db2"] -= set(ACKNOWLEDGED[:count])


@pytest.mark.parametrize("check_id", DRILL_CHECKS)
@pytest.mark.parametrize("forge, hint", [
    (drill(requests=600), f"the record claims 600 writes, but lb1's access log shows 300 of its run ({RUN['run_id']})"),
    (drill(run_id="a" * 32, marker_prefix=f"failover-{'a' * 32}-"),
     f"lb1's access log shows no request of the recorded failover drill for db1 (run {'a' * 32})"),
    (drill(marker_prefix="failover-0123-"), "the recorded failover drill's markers (failover-0123-...) are not its run's"),
    (drill(run_id=None, started_at=None), "the recorded failover drill for db1 has no run id and start time"),
    (drill(run_id="1' OR '1'='1"), "which no run makes (32 hex digits)"),
    # a classmate's genuine record, its stack renamed: lb1 never saw that run
    (lambda t: t.recordings.update({"failover-db1.json": failover_drill("units").to_dict()}),
     "lb1's access log shows no request of the recorded failover drill for db1"),
    # lb1 saw the run, but none of its writes is in this stack's database
    (lambda t: Markers(t).rows["db2"].clear(), "db2 holds no marker of the recorded drill"),
])
def test_a_forged_failover_drill_fails_every_check_that_reads_it(healthy, check_id, forge, hint):
    forge(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def test_a_record_that_hides_lost_writes_is_caught_by_lb1s_log(healthy):
    """The drill lost writes; the record says none were lost and lists only the ones that survived."""
    lost(healthy, 4)
    drill(acknowledged_markers=ACKNOWLEDGED[4:], acknowledged=len(ACKNOWLEDGED) - 4, lost=0, lost_markers=[])(healthy)
    result = run(healthy, CHAPTER, "no-acknowledged-write-lost")
    assert_hint(result, "the record claims 0 acknowledged writes lost, but 4 that lb1 acknowledged are not on db2")
    assert_hint(result, f"4 writes the app acknowledged are not on db2 (e.g. {ACKNOWLEDGED[0]})")


@pytest.mark.parametrize("check_id", DRILL_CHECKS)
def test_catch_ups_failover_drill_earns_no_marks_nor_passes_for_the_students_once_edited(healthy, check_id):
    healthy.recordings["failover-db1.json"].update(by_catch_up=True)
    agents = [failover_agent("db1", RUN["run_id"], index, by_catch_up=True) for index in range(len(STATUSES))]
    healthy.on_ssh("lb1", "/var/log/nginx/access.log*", access_log(agents, STATUSES, seconds=10))
    assert_hint(run(healthy, CHAPTER, check_id),
                "the recorded failover drill for db1 was run by `workshop catch-up`, which is for moving on")
    healthy.recordings["failover-db1.json"].update(by_catch_up=False)
    assert_hint(run(healthy, CHAPTER, check_id), "the record claims 300 writes, but lb1's access log shows 0 of its run")


@pytest.mark.parametrize("logged, fix", [
    ('2026-12-02 10:00:01.123 UTC [812] FATAL:  could not connect to the primary server: connection to server at '
     f'"{DB2}", port 5432 failed: FATAL:  password authentication failed for user "replicator"',
     "The password in the standby's primary_conninfo"),
    ('2026-12-02 10:00:01.123 UTC [812] FATAL:  could not connect to the primary server: connection to server at '
     f'"{DB2}", port 5432 failed: FATAL:  no pg_hba.conf entry for replication connection from host "{DB1}", '
     'user "replicator", no encryption', "The primary's pg_hba.conf has no replication line"),
    ('2026-12-02 10:00:01.123 UTC [812] FATAL:  could not start WAL streaming: ERROR:  replication slot "db1_slot" '
     'does not exist', "The primary has no replication slot of that name"),
])
def test_a_standby_that_cannot_stream_is_told_what_its_own_log_says(healthy, logged, fix):
    healthy.on_ssh("db2", "FROM pg_stat_replication", "")
    healthy.on_ssh("db1", "postgresql-15-main.log", f"2026-12-02 09:59:59 UTC [700] LOG:  started streaming\n{logged}\n")
    result = run(healthy, CHAPTER, "streaming-with-slot")
    assert_hint(result, "db1 is in recovery but does not stream from db2; its log says: \"" + logged[logged.index("could"):])
    assert_hint(result, fix)


def test_the_lag_probe_resumes_the_standby_s_replay_even_when_its_reads_fail(healthy):
    replay = Replay(healthy)
    healthy.on_http("web1", "/api/markers/", lambda path, kwargs: (_ for _ in ()).throw(ConnectionError("down")))
    result = run(healthy, CHAPTER, "lagging-standby-skipped")
    assert result.status != PASSED and replay.calls == ["pause", "resume"]
