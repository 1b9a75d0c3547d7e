"""The report leads with the root cause: when a chapter's machine is down or its service
failed, the checks standing on it say "not checked: <cause>", quoting the service's own log,
instead of each describing a symptom; on sound foundations a failed check keeps its own hint."""

import pytest

from grader.foundations import log_reason
from grader.registry import checks_for, run_checks
from grader.report import format_report
from grader.result import FAILED, NOT_RUN, PASSED
from workshop.errors import WorkshopError
from workshop.providers import RUNNING
from workshop.remote import CommandResult

from .kit import FakeTarget, respond

#: Every notebook answer chapter 02's checks take (they are not what these tests are about).
ANSWERS = {"vhost": "<VirtualHost *:80>", "p95_ms": 100.0, "slower_than_p95": 150}

APACHE_JOURNAL = """failed
Starting apache2.service - The Apache HTTP Server...
AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/newsroom.conf:
Invalid command 'WSGIProcesGroup', perhaps misspelled or defined by a module not included in the server configuration
Action 'start' failed.
The Apache error log may have more information.
apache2.service: Control process exited, code=exited, status=1/FAILURE
Failed to start apache2.service - The Apache HTTP Server.
"""


def unreachable(command, *_):
    raise WorkshopError("ssh: connection refused")


def test_a_failed_apache_is_the_root_cause_of_every_failed_chapter_02_check(target):
    target.on_ssh("web1", "systemctl is-active -q apache2", APACHE_JOURNAL)
    results = run_checks("02-mod-wsgi", target, answers=ANSWERS)  # nothing else is scripted: every check fails
    assert {result.status for result in results} == {NOT_RUN}
    cause = ("apache2 on web1 is failed; its log says: \"AH00526: Syntax error on line 3 of "
             "/etc/apache2/sites-enabled/newsroom.conf: Invalid command 'WSGIProcesGroup', perhaps misspelled or "
             "defined by a module not included in the server configuration\" (journalctl -u apache2 on web1)")
    assert all(result.hints == [f"not checked: {cause}"] for result in results)
    report = format_report("Chapter 02-mod-wsgi", results).splitlines()
    assert report[1] == f"  root cause: {cause}" and sum("root cause" in line for line in report) == 1


def test_a_stopped_machine_is_named_and_its_own_check_keeps_its_hint(target):
    target.states["web1"] = "stopped"
    target.on_ssh("web1", "", unreachable)
    results = {result.check_id: result for result in run_checks("01-getting-started", target)}
    assert results["instance-running"].status == FAILED  # it is about the foundation itself
    assert results["os-expected"].status == NOT_RUN
    assert results["os-expected"].hints == ["not checked: web1 is stopped: start it with `workshop up web1`"]


def test_a_machine_the_chapter_adds_but_the_stack_lacks_is_the_cause():
    target = FakeTarget(("web1", "db1", "media1", "web2", "lb1"))
    for name in target.stack.instances:
        target.on_ssh(name, "systemctl is-active -q", "active\n")
    results = run_checks("06-caching", target, answers={"caches": {}})
    assert results and all(result.hints == ["not checked: the stack has no cache1 yet: the chapter that adds it "
                                            "(or `workshop catch-up`) creates it"] for result in results)


def test_on_sound_foundations_a_failed_check_keeps_its_own_hint(target):
    target.on_ssh("web1", "systemctl is-active -q apache2", "active\n")
    results = run_checks("02-mod-wsgi", target, answers=ANSWERS)
    assert {result.status for result in results} == {FAILED}
    assert not any(hint.startswith("not checked") for result in results for hint in result.hints)


def test_a_service_that_is_not_installed_says_to_deploy_it(target):
    target.on_ssh("web1", "systemctl is-active -q apache2", "missing\n")
    [result] = run_checks("02-mod-wsgi", target, ("debug-off",))
    assert result.hints == ["not checked: apache2 is not installed on web1: deploy it (the chapter's exercise, "
                            "or `workshop catch-up`)"]


def test_foundations_are_probed_only_when_a_check_failed(target, monkeypatch):
    probed = []
    monkeypatch.setattr("grader.foundations.machine_cause", lambda *args: probed.append(args))
    monkeypatch.setattr("grader.registry.run_check", lambda item, target, answers=None: _passed(item))
    assert all(result.status == PASSED for result in run_checks("02-mod-wsgi", target)) and probed == []


def _passed(item):
    from grader.result import CheckResult
    return CheckResult(item.check_id, item.title, PASSED, item.points)


@pytest.mark.parametrize("journal, reason", [
    (APACHE_JOURNAL, "AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/newsroom.conf: Invalid command "
                     "'WSGIProcesGroup', perhaps misspelled or defined by a module not included in the server "
                     "configuration"),
    ("failed\n2026-12-02 LOG:  could not bind IPv4 address \"10.0.0.41\": Cannot assign requested address\n"
     "postgresql@15-main.service: Failed with result 'exit-code'.\n",
     "2026-12-02 LOG:  could not bind IPv4 address \"10.0.0.41\": Cannot assign requested address"),
    ("inactive\nStopped nginx.service - A high performance web server.\n", None),
])
def test_the_reason_is_the_services_own_line_not_systemds(journal, reason):
    assert log_reason(journal.partition("\n")[2]) == reason


def test_a_running_machine_that_does_not_answer_ssh_says_so(target):
    assert target.states["web1"] == RUNNING
    target.on_ssh("web1", "", unreachable)
    [result] = run_checks("02-mod-wsgi", target, ("debug-off",))
    assert result.hints == ["not checked: web1 does not answer SSH (ssh: connection refused)"]


def test_a_check_stands_only_on_the_machines_it_names(target):
    """After a failover the killed primary is down until it rejoins: the drill's checks judge
    lb1's log and the survivor, so a stopped db1 is not their root cause."""
    target.states["db1"] = "stopped"
    target.on_ssh("db1", "", unreachable)
    for name in ("lb1", "pgpool1"):
        target.on_ssh(name, "systemctl is-active -q", "active\n")
    [drill, streaming] = run_checks("08-replication", target, ("no-acknowledged-write-lost", "streaming-with-slot"))
    assert drill.status == FAILED and not drill.hints[0].startswith("not checked")
    assert streaming.status == NOT_RUN and streaming.hints == ["not checked: db1 is stopped: start it with `workshop up db1`"]


PCP_NODE = """Hostname               : {host}
Port                   : 5432
Status                 : {code}
Weight                 : 0.500000
Status Name            : {status}
Backend Status Name    : up
Role                   : {role}
Backend Role           : {role}
Replication Delay      : 0
Replication State      : {state}
Replication Sync State : {sync}
Last Status Change     : 2026-12-02 13:51:57
"""


def pcp_nodes(target, status0, status1):
    """pcp_node_info --all --verbose on pgpool1: db1 the primary, db2 its standby."""
    code = {"up": 2, "down": 3}
    return "\n".join([
        PCP_NODE.format(host=target.record("db1").private_ip, code=code[status0], status=status0, role="primary",
                        state="", sync=""),
        PCP_NODE.format(host=target.record("db2").private_ip, code=code[status1], status=status1, role="standby",
                        state="streaming", sync="async")])


@pytest.mark.parametrize("status0, status1, cause", [
    ("down", "down", "pgpool on pgpool1 has no primary up (pcp_node_info: db1 down (primary), db2 down (standby))"),
    ("up", "down", None),
])
def test_pgpool_with_its_primary_marked_down_is_the_root_cause_of_chapter_08(target, status0, status1, cause):
    for name in target.stack.instances:
        target.on_ssh(name, "systemctl is-active -q", "active\n")
    target.on_ssh("pgpool1", "pcp_node_info", pcp_nodes(target, status0, status1))
    probed = tuple(item.check_id for item in checks_for("08-replication") if not item.answers)  # not a notebook's
    hints = [hint for result in run_checks("08-replication", target, probed) for hint in result.hints]
    if cause:
        assert hints and all(hint.startswith(f"not checked: {cause}") for hint in hints)
        assert "pcp_attach_node -w -h localhost -U pcpadmin -n NODE" in hints[0]
    else:
        assert hints and not any(hint.startswith("not checked") for hint in hints)


PASSWORD_FAILED = ('2026-12-03 12:00:01 UTC [811] FATAL:  could not connect to the primary server: connection to '
                   'server at "10.0.0.41", port 5432 failed: FATAL:  password authentication failed for user '
                   '"replicator"\n')


@pytest.fixture
def all_active(target, clock):
    for name in target.stack.instances:
        target.on_ssh(name, "systemctl is-active -q", "active\n")
    target.on_ssh("varnish1", "backend.list", "")
    return target


def test_a_standby_that_does_not_stream_is_the_root_cause_of_chapter_08_in_its_log_s_words(all_active):
    all_active.on_ssh("db1", "pg_stat_wal_receiver", "f\n")
    all_active.on_ssh("db2", "pg_stat_wal_receiver", "t\n")
    all_active.on_ssh("db2", "tail -n 400", PASSWORD_FAILED)
    results = {result.check_id: result for result in run_checks("08-replication", all_active)}
    cause = results["small-lag"].hints[0]
    assert results["small-lag"].status == NOT_RUN and cause.startswith(
        "not checked: db2 is in recovery but does not stream from the primary; its log says: \"could not connect")
    assert 'password authentication failed for user "replicator"' in cause
    assert "The password in the standby's primary_conninfo" in cause
    # the check that judges streaming itself keeps its own, more specific verdict
    assert not results["streaming-with-slot"].hints[0].startswith("not checked")


def test_a_standby_that_connects_within_seconds_of_its_restart_is_no_root_cause(all_active):
    said = iter(["t\n", "t\n", "f\n"])
    all_active.on_ssh("db1", "pg_stat_wal_receiver", "f\n")
    all_active.on_ssh("db2", "pg_stat_wal_receiver", lambda command: next(said))
    [result] = run_checks("08-replication", all_active, ("small-lag",))
    assert not result.hints[0].startswith("not checked")


def test_later_chapters_do_not_stand_on_the_standby_streaming(all_active):
    all_active.on_ssh("db2", "pg_stat_wal_receiver", "t\n")
    all_active.on_ssh("db2", "tail -n 400", PASSWORD_FAILED)
    hints = [hint for result in run_checks("09-varnish", all_active) for hint in result.hints]
    assert hints and not any("does not stream" in hint for hint in hints)


def test_a_sick_varnish_backend_is_the_root_cause_of_chapter_09_and_its_own_check_says_so(all_active):
    all_active.on_ssh("varnish1", "backend.list", CommandResult("backend.list", "", "", 1))
    all_active.on_http("varnish1", "/", respond(503, headers={"X-Varnish": "32771"}))
    all_active.on_ssh("lb1", "grep -cF", "0\n")
    results = {result.check_id: result for result in run_checks("09-varnish", all_active)}
    sick = ("the active VCL on varnish1 has had no healthy backend for 20 s (varnishadm backend.list on varnish1), "
            "so every cache miss is answered 503")
    assert results["anonymous-pages-hit"].status == NOT_RUN
    assert results["anonymous-pages-hit"].hints[0].startswith("not checked: " + sick)
    assert results["varnish-in-front"].status == FAILED and results["varnish-in-front"].hints[0].startswith(sick)


def test_a_freshly_loaded_vcl_whose_backend_turns_healthy_is_no_root_cause(all_active):
    verdicts = iter([1, 1, 0])  # sick twice, then healthy
    all_active.on_ssh("varnish1", "backend.list", lambda command: CommandResult(command, "", "", next(verdicts)))
    [result] = run_checks("09-varnish", all_active, ("anonymous-pages-hit",))
    assert result.status == FAILED and not result.hints[0].startswith("not checked")


def test_a_receiver_error_from_before_the_standby_last_started_is_not_quoted(all_active):
    """A standby restarted without primary_conninfo logs no receiver error: an older one (the
    primary's restart, an hour ago) would send the student after the wrong fix."""
    all_active.on_ssh("db1", "pg_stat_wal_receiver", "f\n")
    all_active.on_ssh("db2", "pg_stat_wal_receiver", "t\n")
    all_active.on_ssh("db2", "tail -n 400", PASSWORD_FAILED + "2026-12-03 13:00:00 UTC [900] LOG:  starting PostgreSQL "
                                            "15.14 (Debian 15.14-0+deb12u1) on x86_64-pc-linux-gnu\n")
    [result] = run_checks("08-replication", all_active, ("small-lag",))
    assert result.hints[0].startswith("not checked: db2 is in recovery but does not stream from the primary: it "
                                      "replays only what it was restored with. Give it primary_conninfo")
