"""Chapters 07-08 without machines: the pool sizing rule, the rendered pgpool and
pg_hba configurations, how a failover drill's unavailability window is measured,
and that every helper that changes the stack does nothing while nbgrader grades."""

import re
import time

import pytest

from tests.conftest import HOST_KEY
from tests.unit.grader.kit import FakeClock
from tests.unit.record_samples import failover_drill

from workshop.deploy import pgpool, replication
from workshop.deploy.pgpool import PoolSize
from workshop.errors import ConfigError
from workshop.failover import cut_off, fail_over, replication_experiment, unavailable_window
from workshop.failure import Sample
from workshop.lab import Lab, open_lab
from workshop.pgpool_conf import parse_settings
from workshop.progress import Progress
from workshop.records import RecordFolders
from workshop.stack import InstanceRecord, Stack


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    stack = Stack("units", "local", "root", str(tmp_path / "id"), {"subnet": "10.213.9.0/24"}, {})
    return Lab(stack, None, tmp_path)


def _rules(hba: str) -> list[list[str]]:
    return [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]


class TestPoolSize:
    def test_debian_defaults_do_not_fit_debian_postgresql(self):
        with pytest.raises(ConfigError, match=r"32 \* 4 = 128 exceeds .* 100 - 3 = 97"):
            PoolSize(num_init_children=32, max_pool=4).require_fits(100, 3)

    def test_the_reference_pool_fits_with_room_for_administrators(self):
        assert PoolSize().backend_connections == 64
        PoolSize().require_fits(100, 3)

    def test_a_pool_exactly_as_large_as_the_ordinary_connections_fits(self):
        PoolSize(num_init_children=97, max_pool=1).require_fits(100, 3)


class TestPgpoolConf:
    def test_one_backend_listens_on_postgresqls_port_without_load_balancing(self, lab):
        settings = parse_settings(pgpool.reference_pgpool_conf(lab, backends=("db1",)))
        assert settings["port"] == "5432" and settings["backend_hostname0"] == "10.213.9.41"
        assert "backend_hostname1" not in settings and settings["load_balance_mode"] == "off"

    def test_two_backends_balance_reads_and_can_fail_over(self, lab):
        settings = parse_settings(pgpool.reference_pgpool_conf(lab, backends=("db1", "db2")))
        assert (settings["backend_hostname0"], settings["backend_hostname1"]) == ("10.213.9.41", "10.213.9.42")
        assert settings["backend_application_name1"] == "db2" and settings["backend_flag1"] == "ALLOW_TO_FAILOVER"
        assert settings["load_balance_mode"] == "on" and settings["failover_command"].startswith("/etc/pgpool2/failover.sh")

    def test_a_lagging_standby_loses_its_reads_and_a_detached_one_comes_back_by_itself(self, lab):
        settings = parse_settings(pgpool.reference_pgpool_conf(lab, backends=("db1", "db2")))
        assert settings["delay_threshold"] == str(pgpool.WATCHING.delay_threshold) == "1048576"
        assert (settings["auto_failback"], settings["auto_failback_interval"]) == ("on", "10")
        assert settings["failover_on_backend_error"] == "on" and settings["sr_check_period"] == "2"

    def test_the_pool_size_is_what_was_asked(self, lab):
        settings = parse_settings(pgpool.reference_pgpool_conf(lab, size=PoolSize(16, 1)))
        assert (settings["num_init_children"], settings["max_pool"]) == ("16", "1")

    def test_authentication_is_pool_hba_with_encrypted_passwords(self, lab):
        settings = parse_settings(pgpool.reference_pgpool_conf(lab))
        assert settings["enable_pool_hba"] == "on" and settings["allow_clear_text_frontend_auth"] == "off"
        assert settings["health_check_password"] == "" and settings["sr_check_user"] == "pgpool"

    def test_the_students_backend_lines_are_the_servers_pgpool_reads(self, lab):
        mine = pgpool.reference_backend_lines(lab).replace("backend_weight0 = 1", "backend_weight0 = 3  # mine")
        settings = parse_settings(pgpool.pgpool_conf(mine))
        assert (settings["backend_hostname0"], settings["backend_weight0"]) == ("10.213.9.41", "3")
        assert settings["load_balance_mode"] == "off" and settings["num_init_children"] == "32"

    @pytest.mark.parametrize("lines, error", [
        ("", "no backend lines: write backend_hostname0"),
        ("backend_hostname0 = '10.213.9.41'\nload_balance_mode = on\n", "not a backend line: 'load_balance_mode = on'"),
        ("backend_hostname0 '10.213.9.41'\n", "not a backend line: \"backend_hostname0 '10.213.9.41'\""),
        ("backend_host0 = '10.213.9.41'\n", "unknown backend setting 'backend_host0'"),
        ("backend_hostname0 = '10.213.9.41'\n", "node 0 has no backend_port0, backend_weight0"),
    ])
    def test_lines_pgpool_could_not_use_are_refused_before_anything_is_installed(self, lab, lines, error):
        with pytest.raises(ConfigError, match=re.escape(error)):
            pgpool.pgpool_conf(lines)

    def test_pool_hba_admits_the_app_from_the_web_servers_with_scram_only(self, lab):
        rules = _rules(pgpool.reference_pool_hba(lab))
        assert {rule[-1] for rule in rules} == {"scram-sha-256"}
        assert ["host", "newsroom", "newsroom", "10.213.9.21/32", "scram-sha-256"] in rules
        assert ["host", "newsroom", "newsroom", "10.213.9.22/32", "scram-sha-256"] in rules


class TestDatabaseHba:
    def test_behind_pgpool_the_app_user_comes_from_pgpool1_only(self, lab):
        rules = _rules(pgpool.database_hba(lab, "db1"))
        app = [rule for rule in rules if rule[0] == "host" and rule[2] == "newsroom"]
        assert app == [["host", "newsroom", "newsroom", "10.213.9.45/32", "scram-sha-256"]]

    def test_each_server_admits_replication_from_the_other_and_pgpools_role(self, lab):
        assert ["host", "replication", "replicator", "10.213.9.42/32", "scram-sha-256"] in _rules(
            pgpool.database_hba(lab, "db1"))
        db2 = _rules(pgpool.database_hba(lab, "db2"))
        assert ["host", "replication", "replicator", "10.213.9.41/32", "scram-sha-256"] in db2
        assert ["host", "postgres", "pgpool", "10.213.9.45/32", "scram-sha-256"] in db2

    def test_while_moving_the_web_servers_can_still_connect(self, lab):
        rules = _rules(pgpool.database_hba(lab, "db1", app_clients=("pgpool1", "web1")))
        assert [rule[3] for rule in rules if rule[0] == "host" and rule[2] == "newsroom"] == [
            "10.213.9.45/32", "10.213.9.21/32"]


def _samples(*statuses, every=0.1):
    return [Sample(index, index * every, status, None, 0.01) for index, status in enumerate(statuses)]


class TestUnavailableWindow:
    def test_nothing_failed_means_no_window(self):
        assert unavailable_window(_samples(201, 201, 201)) == 0.0

    def test_from_the_first_failure_to_the_answer_of_the_first_success_after_the_last(self):
        assert unavailable_window(_samples(201, 500, None, 500, 201, 201)) == pytest.approx(0.4 + 0.01 - 0.1)

    def test_a_success_between_failures_does_not_end_the_window(self):
        assert unavailable_window(_samples(500, 201, 500, 201)) == pytest.approx(0.31)

    def test_no_success_after_the_failures_means_never_within_the_drill(self):
        assert unavailable_window(_samples(201, 500, 500)) is None


@pytest.fixture
def graded_lab(tmp_path, monkeypatch):
    """A lab opened while nbgrader grades: any SSH attempt would fail (nothing runs)."""
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    instances = {name: InstanceRecord(name, role, f"10.213.9.{number}", "127.0.0.1", {"22": 1}, f"ws-graded-{name}",
                                HOST_KEY)
                 for name, role, number in (("db1", "db", 41), ("db2", "db", 42), ("pgpool1", "pgpool", 45))}
    stack = Stack("graded", "local", "root", str(tmp_path / "home/stacks/graded/id_ed25519"), {"subnet": "10.213.9.0/24"},
                  instances)
    stack.add_copy(tmp_path)
    stack.save()
    return open_lab(folder=tmp_path)


class TestWhileGrading:
    def test_the_failover_drill_shows_the_recorded_one_instead_of_killing(self, graded_lab, capsys):
        drill = failover_drill(stack="graded")
        RecordFolders.of(graded_lab).save(drill)
        assert fail_over(graded_lab, "db1") == drill.to_dict()
        assert "skipped 'fail over from db1'" in capsys.readouterr().out

    def test_deploys_and_experiments_change_nothing(self, graded_lab, capsys):
        db1, db2, pgpool1 = (graded_lab.instance(name) for name in ("db1", "db2", "pgpool1"))
        pgpool.deploy_pgpool(graded_lab, "pgpool1", ("db1", "db2"))
        pgpool.configure_pgpool(graded_lab, pgpool1, "", "")
        pgpool.prepare_primary(graded_lab, db1)
        pgpool.restrict_to_pooler(graded_lab, ("db1", "db2"))
        replication.deploy_standby(graded_lab, "db2", "db1")
        replication.set_synchronous(db1, "db2")
        replication.rejoin_as_standby(graded_lab, "db1", "db2")
        cut_off(db2)
        assert replication_experiment(graded_lab, synchronous=True) is None
        printed = capsys.readouterr().out.splitlines()
        assert len(printed) >= 9 and all("grading never changes the stack" in line for line in printed)


class TestReattachServers:
    """Catch-up's repair of pgpool holding servers down though they answer (issue: both detached)."""

    class Pooler:
        name = "pgpool1"

        def __init__(self):
            self.commands = []

        def run(self, command, **kwargs):
            self.commands.append(command)

    @pytest.fixture
    def pooler(self, lab, monkeypatch):
        clock = FakeClock()
        monkeypatch.setattr(time, "monotonic", clock.monotonic)
        monkeypatch.setattr(time, "sleep", clock.sleep)
        monkeypatch.setattr(pgpool, "running", lambda lab, names: names)
        monkeypatch.setattr(pgpool, "is_primary", lambda db: db.name == "db2")
        monkeypatch.setattr(Lab, "instance", lambda self, name: type("Db", (), {"name": name})())
        monkeypatch.setattr(pgpool, "wait_for_pgpool", lambda lab, pooler: pooler.commands.append("waited"))
        return self.Pooler()

    def nodes(self, monkeypatch, after_attach_role):
        """Both servers down as pgpool says; once attached, db2 shows as `after_attach_role`."""
        def pcp_nodes(lab, pooler):
            attached = any("pcp_attach_node" in command for command in pooler.commands)
            return {"db1": {"node_id": "0", "status": "waiting" if attached else "down", "role": "standby"},
                    "db2": {"node_id": "1", "status": "waiting" if attached else "down",
                            "role": after_attach_role if attached else "standby"}}
        monkeypatch.setattr(pgpool, "pcp_nodes", pcp_nodes)

    def test_the_primary_is_attached_first_and_a_pgpool_that_finds_it_is_left_running(self, lab, pooler, monkeypatch):
        self.nodes(monkeypatch, "primary")
        assert pgpool.reattach_servers(lab, pooler, Progress("repair", quiet=True)) == ["db2", "db1"]
        assert not any("pgpool_status" in command for command in pooler.commands)

    def test_a_pgpool_that_sees_no_primary_after_attaching_restarts_without_its_saved_status(self, lab, pooler,
                                                                                               monkeypatch):
        self.nodes(monkeypatch, "standby")
        pgpool.reattach_servers(lab, pooler, Progress("repair", quiet=True))
        assert pooler.commands[-2:] == [f"systemctl stop pgpool2 && rm -f {pgpool.STATUS_FILE} && systemctl start pgpool2",
                                        "waited"]

    def test_two_primaries_are_never_let_in_by_a_fresh_start(self, lab, pooler, monkeypatch):
        monkeypatch.setattr(pgpool, "is_primary", lambda db: True)
        self.nodes(monkeypatch, "standby")
        assert pgpool.reattach_servers(lab, pooler, Progress("repair", quiet=True)) == []
        assert pooler.commands == []
