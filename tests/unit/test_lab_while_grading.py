"""While nbgrader grades (NBGRADER_EXECUTION set), helpers change nothing and say so."""

import importlib
import json
import pkgutil
import subprocess

import pytest
import requests

import workshop
from tests.conftest import HOST_KEY
from workshop import app, catchup, export, failover, failure, loadtest
from workshop.classroom import provision
from workshop.classroom.layout import Classroom
from workshop.deploy import apache, media, memcached, nginx, pgpool, postgres, releases, replication, varnish, web
from workshop.errors import StackError
from workshop.lab import Instance, Lab, open_lab
from workshop.progress import Progress
from workshop.stack import InstanceRecord, Stack
from workshop.topology import PLAN


@pytest.fixture
def graded_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    records = {name: InstanceRecord(name, spec.role, f"10.213.9.{spec.host_number}", "127.0.0.1", {"22": 1, "80": 2},
                                    f"ws-graded-{name}", HOST_KEY) for name, spec in PLAN.items()}
    stack = Stack("graded", "local", "root", str(tmp_path / "home/stacks/graded/id_ed25519"), {"subnet": "10.213.9.0/24"},
                  records)
    stack.add_copy(tmp_path)
    stack.save()
    return tmp_path


def test_up_starts_nothing_and_returns_the_recorded_instance(graded_folder, capsys):
    lab = open_lab(folder=graded_folder)
    web1 = lab.up("web1")
    assert web1.private_ip == "10.213.9.21"
    assert "skipped 'lab.up('web1')'" in capsys.readouterr().out


def test_commands_that_may_change_the_machine_are_skipped(graded_folder, capsys):
    web1 = open_lab(folder=graded_folder).instance("web1")
    result = web1.run("apt-get install -y cowsay")
    assert result.skipped and result.exit_code is None
    assert "grading never changes the stack" in capsys.readouterr().out


def test_down_deletes_nothing(graded_folder, capsys):
    assert open_lab(folder=graded_folder).down() == []
    assert (graded_folder / "workshop-stack.json").exists()
    assert "skipped 'lab.down()'" in capsys.readouterr().out


def test_a_notebook_graded_with_the_students_own_copy_works_on_this_homes_record_of_that_stack(graded_folder):
    """A classroom server's student submits their copy of the stack (its key in their own home,
    which the grading sandbox does not show): the notebook works on the record of that stack
    here, the instructor's; a descriptor naming a stack with no record here still refuses."""
    copy = json.loads((graded_folder / "workshop-stack.json").read_text())
    copy["ssh_key"] = "/home/fall-alice/workshop/stacks/graded/id_ed25519"
    (graded_folder / "workshop-stack.json").write_text(json.dumps(copy))
    assert open_lab(folder=graded_folder).stack.ssh_key == str(graded_folder / "home/stacks/graded/id_ed25519")
    (graded_folder / "workshop-stack.json").write_text(json.dumps({**copy, "name": "another"}))
    with pytest.raises(StackError, match="is not in the stack's own folder"):
        open_lab(folder=graded_folder)


def test_grading_never_creates_a_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    lab = open_lab(folder=tmp_path)
    assert lab.stack is None and not (tmp_path / "home").exists()
    with pytest.raises(StackError, match="run this notebook's first cell"):
        lab.instance("web1")


def test_outside_grading_open_lab_creates_a_key_and_a_descriptor_but_no_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    lab = open_lab("fresh", folder=tmp_path)
    assert lab.stack.instances == {}
    assert (tmp_path / "home" / "stacks" / "fresh" / "id_ed25519").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "workshop-stack.json").exists()
    with pytest.raises(ValueError, match="choose from"):
        lab.up("web9")


#: Every public helper that creates, changes or destroys something: (helper, its arguments
#: given the graded lab, what it returns while grading: an instance's name or a value).
CHANGING = [
    (apache.configure_apache, lambda lab: (lab.instance("web1"), "<VirtualHost *:80>"), None),
    (nginx.configure_nginx, lambda lab: (lab.instance("lb1"), "server {}"), None),
    (nginx.sync_static, lambda lab: (lab.instance("web1"), lab.instance("lb1")), None),
    (nginx.deploy_load_balancer, lambda lab: (lab,), "lb1"),
    (varnish.configure_varnish, lambda lab: (lab.instance("varnish1"), "vcl 4.1;"), None),
    (varnish.deploy_varnish, lambda lab: (lab,), "varnish1"),
    (memcached.configure_memcached, lambda lab: (lab.instance("cache1"), "-m 64"), None),
    (memcached.deploy_cache_servers, lambda lab: (lab,), ["cache1", "cache2"]),
    (memcached.configure_caches, lambda lab: (lab, {"default": {}}), None),
    (memcached.deploy_cache_settings, lambda lab: (lab,), None),
    (postgres.configure_postgres, lambda lab: (lab.instance("db1"), "local all all peer"), None),
    (postgres.install_hba, lambda lab: (lab.instance("db1"), "local all all peer"), None),
    (postgres.create_app_database, lambda lab: (lab.instance("db1"), "secret"), None),
    (postgres.deploy_database_server, lambda lab: (lab,), "db1"),
    (pgpool.prepare_primary, lambda lab: (lab, lab.instance("db1")), None),
    (pgpool.configure_pgpool, lambda lab: (lab, lab.instance("pgpool1"), "port = 5432", "host all all 0/0 md5"), None),
    (pgpool.deploy_pgpool, lambda lab: (lab,), "pgpool1"),
    (pgpool.admit_pooler, lambda lab: (lab,), None),
    (pgpool.restrict_to_pooler, lambda lab: (lab,), None),
    (replication.deploy_standby, lambda lab: (lab,), "db2"),
    (replication.clone_standby, lambda lab: (lab, "db2", "pg_basebackup -D x"), "db2"),
    (replication.set_synchronous, lambda lab: (lab.instance("db1"), "db2"), None),
    (replication.rejoin_as_standby, lambda lab: (lab, "db1", "db2"), "db1"),
    (replication.planned_restart, lambda lab: (lab, "db1"), "db1"),
    (media.ensure_bucket, lambda lab: (lab, lab.instance("media1")), None),
    (media.deploy_media_server, lambda lab: (lab,), "media1"),
    (web.install_app, lambda lab: (lab, lab.instance("web1")), False),
    (web.install_python, lambda lab: (lab, ["web1", "web2"], Progress("units")), None),
    (web.deploy_web_server, lambda lab: (lab,), "web1"),
    (web.deploy_release_web_server, lambda lab: (lab, "web2"), "web2"),
    (web.deploy_own_release_web_server, lambda lab: (lab, "web2"), "web2"),
    (releases.deploy_releases, lambda lab: (lab, ["web1", "web2"]), {}),
    (releases.fab, lambda lab: (lab, "deploy", ["web1"]), ""),
    (app.create_marker, lambda lab: (lab.instance("lb1"), "probe"), None),
    (failure.crash_web_server, lambda lab: (lab,), None),
    (failover.fail_over, lambda lab: (lab,), None),
    (failover.cut_off, lambda lab: (lab.instance("db2"),), None),
    (failover.replication_experiment, lambda lab: (lab, True), None),
    (loadtest.run, lambda lab: (lab, "baseline", lab.instance("lb1")), None),
    (catchup.catch_up, lambda lab: (lab, 10), None),
    (export.export_stack, lambda lab: (lab,), None),
    (provision.up, lambda lab: (Classroom(lab.folder / "class", "fall", []),), []),
    (provision.down, lambda lab: (Classroom(lab.folder / "class", "fall", []),), []),
    (Lab.up, lambda lab: (lab, "web1"), "web1"),
    (Lab.restart, lambda lab: (lab, "web1"), "web1"),
    (Lab.down, lambda lab: (lab,), []),
]


def files_under(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def nothing_leaves_the_host(monkeypatch):
    """No SSH, HTTP or program may run while grading: each would fail the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"reached out while grading: {args} {kwargs}")

    monkeypatch.setattr(Instance, "remote", property(refuse))
    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.mark.parametrize("helper, arguments, fallback", CHANGING, ids=[c[0].__qualname__ for c in CHANGING])
def test_a_helper_that_changes_something_only_says_what_it_skipped(graded_folder, nothing_leaves_the_host, capsys,
                                                                   helper, arguments, fallback):
    lab = open_lab(folder=graded_folder)
    before = files_under(graded_folder)
    result = helper(*arguments(lab))
    returned = [item.name for item in result] if isinstance(result, list) and result else result
    assert (returned.name if isinstance(returned, Instance) else returned) == fallback
    assert files_under(graded_folder) == before
    assert "grading never changes the stack" in capsys.readouterr().out


def test_every_helper_marked_as_changing_something_is_covered():
    marked = set()
    for found in pkgutil.walk_packages(workshop.__path__, "workshop."):
        module = importlib.import_module(found.name)
        for value in vars(module).values():
            for helper in [value, *vars(value).values()] if isinstance(value, type) else [value]:
                if isinstance(getattr(helper, "changes", None), str) and helper.__module__ == module.__name__:
                    marked.add(f"{helper.__module__}.{helper.__qualname__}")
    covered = {f"{helper.__module__}.{helper.__qualname__}" for helper, _, _ in CHANGING}
    assert len(marked) > 30 and marked <= covered, f"add to CHANGING: {sorted(marked - covered)}"


def test_the_skip_line_names_what_was_skipped_with_the_calls_arguments(graded_folder, capsys):
    memcached.deploy_cache_servers(open_lab(folder=graded_folder), names=("cache2", "cache1"))
    assert "skipped 'deploy the cache servers cache2, cache1'" in capsys.readouterr().out
