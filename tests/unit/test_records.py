"""Recorded results: each kind saves and loads one way, beside the notebook first; a
missing record, another stack's and a damaged file each get one clear verdict, in
the notebooks' helpers, catch-up and the checks alike. And the deploy log the
fabfile keeps on each web server reads as deploys."""

import json
import re
from types import SimpleNamespace

import pytest

from grader.registry import checks_for, run_check
from grader.target import ProbeError, Target
from tests.unit.record_samples import crash_drill, failover_drill, load_test
from workshop import loadtest
from workshop.deploy.releases import load_fabfile
from workshop.records import (DEPLOY_LOG, CrashDrill, Deploy, FailoverDrill, LoadProfile, LoadTest, NotRecorded,
                              NotRecordedProperly, RecordFolders)
from workshop.stack import Stack

RUN_CRASH = 'workshop.failure.crash_web_server(lab, "web1", through="lb1")'


@pytest.fixture
def stack(tmp_path, monkeypatch) -> Stack:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    return Stack("s1", "local", "root", str(tmp_path / "id"))


@pytest.fixture
def lab(tmp_path, stack):
    """What records need of a Lab: the notebook's folder and the stack."""
    (tmp_path / "notebook").mkdir()
    return SimpleNamespace(folder=tmp_path / "notebook", stack=stack)


@pytest.fixture
def folders(lab) -> RecordFolders:
    return RecordFolders.of(lab)


@pytest.mark.parametrize("record", [load_test(), crash_drill(), failover_drill()], ids=lambda r: type(r).__name__)
def test_each_kind_saved_beside_the_notebook_and_in_the_stack_folder_loads_back_equal(record, folders, lab):
    folders.save(record)
    name = record.file_name(record.key)
    beside, kept = lab.folder / name, lab.stack.folder / record.FOLDER / name
    assert beside.read_text() == kept.read_text()
    assert folders.load(type(record), record.key) == record
    assert len(record.run_id) == 32 and record.started_at > 0


def test_the_files_keep_the_keys_the_notebooks_read(folders, lab):
    folders.save(load_test())
    folders.save(crash_drill())
    baseline = json.loads((lab.folder / "loadtest-02-baseline.json").read_text())
    drill = json.loads((lab.folder / "crash-web1.json").read_text())
    assert baseline["latency_ms"]["p95"] == 80.0 and baseline["throughput_rps"] == 500.0
    assert baseline["profile"] == {"name": "baseline", "threads": 2, "connections": 32, "duration_s": 15,
                                   "path": "/", "timeout_s": 5}
    assert {"failed", "requests", "max_latency_s", "recovery_s", "run_id", "started_at", "stack"} <= set(drill)


def test_the_copy_beside_the_notebook_is_read_before_the_stack_folders(folders, lab):
    folders.save(crash_drill(failed=7))
    RecordFolders(None, lab.stack.folder).save(crash_drill(failed=1))
    assert folders.load(CrashDrill, "web1").failed == 7
    (lab.folder / "crash-web1.json").unlink()
    assert folders.load(CrashDrill, "web1").failed == 1


def test_a_record_of_another_stack_or_none_at_all_is_not_recorded_on_this_one(folders):
    with pytest.raises(NotRecorded, match=r"^no crash drill recorded for web1: run crash\(\)$"):
        folders.made_on(CrashDrill, "web1", "s1", run="crash()")
    assert folders.load(CrashDrill, "web1") is None
    folders.save(crash_drill(stack="someone-else"))
    with pytest.raises(NotRecorded, match=r"^the recorded crash drill for web1 ran against stack someone-else, not s1: "
                                          r"run it again \(crash\(\)\)$"):
        folders.made_on(CrashDrill, "web1", "s1", run="crash()")


@pytest.mark.parametrize("text, reason", [
    ("{not json", "Expecting property name"),
    ("[]", "the file is not a JSON object"),
    ('{"stack": "s1", "victim": "web1"}', "through, requests, failed, killed_after, max_latency_s, "
                                          "served_by_after_kill, recovery_s, finished_at missing"),
    (json.dumps({**crash_drill().to_dict(), "requests": "many"}), "requests is 'many', not int"),
    (json.dumps({**crash_drill().to_dict(), "failed": True}), "failed is True, not int"),
    (json.dumps({**crash_drill().to_dict(), "served_by_after_kill": ["web2", 2]}),
     "served_by_after_kill is \\['web2', 2\\], not list\\[str\\]"),
])
def test_a_damaged_or_incomplete_file_is_not_recorded_properly_and_says_why(text, reason, folders, lab):
    (lab.folder / "crash-web1.json").write_text(text)
    with pytest.raises(NotRecordedProperly, match=f"crash drill for web1 in {lab.folder}/crash-web1.json is not "
                                                  f"recorded properly: {reason}"):
        folders.load(CrashDrill, "web1")
    with pytest.raises(NotRecordedProperly, match=r"run it again \(crash\(\)\)$"):
        folders.made_on(CrashDrill, "web1", "s1", run="crash()")


def test_a_nested_field_that_is_missing_is_named_with_its_path(folders, lab):
    data = load_test().to_dict()
    del data["latency_ms"]["p95"]
    (lab.folder / "loadtest-02-baseline.json").write_text(json.dumps(data))
    with pytest.raises(NotRecordedProperly, match="not recorded properly: latency_ms.p95 missing"):
        folders.load(LoadTest, "02-baseline")


def test_files_from_before_run_ids_load_but_no_check_or_catch_up_takes_them(folders, lab):
    """The notebooks still show them; nothing on the servers can vouch for them, so they are run again."""
    old_drill = {key: value for key, value in failover_drill().to_dict().items() if key not in ("run_id", "started_at")}
    (lab.folder / "failover-db1.json").write_text(json.dumps(old_drill))
    drill = folders.load(FailoverDrill, "db1")
    assert drill.run_id is None and drill.started_at is None and drill.survivor_promoted
    with pytest.raises(NotRecorded, match=r"has no run id and start time .*: run it again \(fail_over\(\)\)$"):
        folders.made_on(FailoverDrill, "db1", "s1", run="fail_over()")
    old_test = {key: value for key, value in load_test().to_dict().items() if key != "run_id"}
    (lab.folder / "loadtest-02-baseline.json").write_text(json.dumps(old_test))
    assert folders.load(LoadTest, "02-baseline").run_id is None
    del old_test["started_at"]  # the final load test's check needs it
    (lab.folder / "loadtest-02-baseline.json").write_text(json.dumps(old_test))
    with pytest.raises(NotRecordedProperly, match="started_at missing"):
        folders.load(LoadTest, "02-baseline")


def test_every_stage_recorded_properly_is_listed_for_the_notebooks_and_a_damaged_one_is_not(folders, lab):
    folders.save(load_test(stage="10-final", throughput_rps=15000.0))
    RecordFolders(None, lab.stack.folder).save(load_test(stage="02-baseline"))
    (lab.folder / "loadtest-06-caching.json").write_text("{}")
    results = loadtest.recorded(lab)
    assert list(results) == ["02-baseline", "10-final"]
    assert loadtest.throughput_ratio(results, "10-final") == 30.0
    assert "30.0" in loadtest.comparison(results).splitlines()[-1]


def test_the_stage_table_says_which_runs_were_catch_ups(folders, lab):
    folders.save(load_test(stage="02-baseline", profile=LoadProfile("catch-up", 2, 32, 5)))
    row = loadtest.comparison(loadtest.recorded(lab)).splitlines()[-1]
    assert row.split()[:3] == ["02-baseline", "web1", "catch-up"]


def test_the_checks_get_the_record_or_one_verdict_for_missing_another_stack_and_damaged(tmp_path, stack, folders, lab):
    target = Target(stack, "test", lab.folder)
    with pytest.raises(ProbeError, match=f"^no crash drill recorded for web1: run {re.escape(RUN_CRASH)}$"):
        target.recorded(CrashDrill, "web1", RUN_CRASH)
    RecordFolders(None, stack.folder).save(crash_drill(stack="someone-else"))
    with pytest.raises(ProbeError, match="ran against stack someone-else, not s1: run it again"):
        target.recorded(CrashDrill, "web1", RUN_CRASH)
    (stack.folder / "drills" / "crash-web1.json").write_text('{"failed": 0}')
    with pytest.raises(ProbeError, match="crash drill for web1 in .* is not recorded properly: stack, victim, .* missing"):
        target.recorded(CrashDrill, "web1", RUN_CRASH)
    drill = crash_drill()
    folders.save(drill)
    assert target.recorded(CrashDrill, "web1", RUN_CRASH) == drill


def test_a_target_reads_the_stack_folder_it_is_given(tmp_path, stack):
    elsewhere = tmp_path / "students" / "alice" / "stacks" / "s1"
    RecordFolders(None, elsewhere).save(crash_drill())
    assert Target(stack, "test", None, stack_folder=elsewhere).recorded(CrashDrill, "web1", RUN_CRASH).failed == 0
    with pytest.raises(ProbeError, match="no crash drill recorded"):
        Target(stack, "test", None).recorded(CrashDrill, "web1", RUN_CRASH)


def test_the_deploy_log_reads_as_deploys_and_a_line_that_is_none_is_left_out():
    log = ("2026-12-01T10:00:00Z 0123456789ab switched\n"
           "half a line written when the disk filled up\n"
           "2026-12-01T10:01:00Z 0123456789ab already-live\n")
    assert Deploy.parse_log(log) == [Deploy("2026-12-01T10:00:00Z", "0123456789ab", "switched"),
                                     Deploy("2026-12-01T10:01:00Z", "0123456789ab", "already-live")]


def test_the_reference_fabfile_logs_where_the_checks_read():
    assert load_fabfile().DEPLOY_LOG == DEPLOY_LOG


def test_a_check_names_the_record_that_is_missing_before_it_probes(stack, folders, lab):
    """Chapter 10's ratio check reads two records (tests/unit/grader: what it then asks the servers)."""
    ratio = checks_for("10-final-load-test", ("throughput-ratio",))[0]
    target = Target(stack, "test", lab.folder)
    folders.save(load_test(stage="10-final", throughput_rps=15000.0))
    missing = run_check(ratio, target, {"throughput_ratio": 30.0})
    assert not missing.passed and missing.hints == [
        "no load test recorded for stage 02-baseline: run workshop.loadtest.run(lab, \"02-baseline\", ...); chapter 02 "
        "records the baseline"]


def test_the_stage_plot_has_a_bar_per_stage_and_says_how_to_record_the_first():
    """Lesson 10 plots whatever the stack has: nothing at all on a stack that never ran a load test."""
    import matplotlib
    matplotlib.use("Agg")
    results = {stage: load_test(stage=stage, throughput_rps=rps).to_dict()
               for stage, rps in (("02-baseline", 280.0), ("10-final", 9000.0))}
    throughput, latency = loadtest.plot(results).axes
    assert [bar.get_height() for bar in throughput.patches] == [280.0, 9000.0]
    assert len(latency.patches) == 3 * len(results)  # p50, p95, p99 per stage
    [empty] = loadtest.plot({}).axes
    assert "exercise 02b records the baseline" in empty.texts[0].get_text()
