"""lab.up starts the instances it is given at once (when the provider allows it) and
leaves the ones already recorded and running alone, after a single state query."""

import threading

import pytest

from tests.conftest import HOST_KEY
from workshop.lab import Lab, open_lab
from workshop.providers import PROVIDERS, RUNNING, Provider
from workshop.stack import InstanceRecord


class RecordingProvider(Provider):
    """Creates nothing: records which instances it was asked to create and answers states."""

    name, ssh_user = "local", "root"

    def __init__(self, concurrent: bool, expected: int = 1):
        self.concurrent_creates = concurrent
        self.created: list[str] = []
        self.stopped: set[str] = set()
        self.state_queries = 0
        self.together = threading.Barrier(expected, timeout=5)

    def prepare(self, stack, progress):
        stack.network.setdefault("subnet", "10.213.7.0/24")

    def create_instance(self, stack, spec, public_key, progress):
        if self.concurrent_creates:
            self.together.wait()  # every create has started before any finishes
        self.created.append(spec.name)
        return InstanceRecord(spec.name, spec.role, f"10.213.7.{spec.host_number}", "127.0.0.1", {"22": 2200},
                              f"c-{spec.name}", HOST_KEY)

    def states(self, stack):
        self.state_queries += 1
        return {name: RUNNING for name in self.created}

    def start(self, stack, name, progress): ...
    def stop(self, stack, name): ...
    def kill(self, stack, name): ...
    def destroy(self, stack, progress): return []
    def leftovers(self, stack): return []


@pytest.fixture
def lab_with(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(Lab, "_wait_for_ssh", lambda self, name, progress: None)  # no machine to log into

    def make(provider: RecordingProvider) -> Lab:
        monkeypatch.setitem(PROVIDERS, "local", lambda: provider)
        return open_lab("units", folder=tmp_path)

    return make


def test_several_instances_are_created_at_once_and_all_recorded(lab_with):
    provider = RecordingProvider(concurrent=True, expected=3)
    lab = lab_with(provider)
    lab.up("web1", "web2", "lb1")
    assert sorted(provider.created) == ["lb1", "web1", "web2"]
    assert sorted(lab.stack.instances) == ["lb1", "web1", "web2"]
    assert "Host web2" in (lab.stack.folder / "ssh_config").read_text()


def test_instances_recorded_and_running_are_left_alone_after_one_state_query(lab_with):
    provider = RecordingProvider(concurrent=False)
    lab = lab_with(provider)
    lab.up("web1")
    queries = provider.state_queries
    lab.up("web1")
    lab.up("web1", "db1")
    assert provider.created == ["web1", "db1"]
    assert provider.state_queries == queries + 2


class StoppedAfterHostRestart(RecordingProvider):
    """Every recorded instance is stopped (the host restarted); records the order of the starts."""

    def states(self, stack):
        self.state_queries += 1
        return {name: ("stopped" if name in self.stopped else RUNNING) for name in self.created}


def test_up_without_names_resumes_every_instance_the_stack_has_database_servers_first(lab_with):
    provider = StoppedAfterHostRestart(concurrent=False)
    lab = lab_with(provider)
    lab.up("pgpool1", "web1")
    lab.up("db2", "db1")
    assert list(lab.stack.instances) == ["pgpool1", "web1", "db2", "db1"]
    provider.stopped, provider.created = set(provider.created), []
    lab.up()
    assert provider.created[:2] == ["db2", "db1"] and sorted(provider.created[2:]) == ["pgpool1", "web1"]


def test_up_without_names_on_a_new_stack_starts_web1(lab_with):
    provider = RecordingProvider(concurrent=False)
    lab_with(provider).up()
    assert provider.created == ["web1"]
