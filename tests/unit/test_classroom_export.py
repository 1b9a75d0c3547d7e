"""The take-home export: secrets never leave the machines, the README describes the stack.
(Pulling real configs over SSH is covered in tests/e2e/test_classroom.py.)"""

from workshop.export import MARKER, fresh_folder, architecture_readme, redact
from workshop.stack import InstanceRecord, Stack


def test_credentials_in_env_files_and_urls_are_redacted():
    text = ("DJANGO_SECRET_KEY=abc123\nexport AWS_SECRET_ACCESS_KEY = s3cr3t\nDB_PASSWORD='x y'\n"
            "DATABASE_URL=postgres://newsroom:hunter2@10.0.0.41:5432/newsroom\nAWS_ACCESS_KEY_ID=AK1\n"
            "password_encryption = scram-sha-256\nsr_check_password = 'pw'\nDJANGO_DEBUG=0\n")
    assert redact("/etc/newsroom/env", text) == (
        "DJANGO_SECRET_KEY=<redacted>\nexport AWS_SECRET_ACCESS_KEY = <redacted>\nDB_PASSWORD=<redacted>\n"
        "DATABASE_URL=postgres://newsroom:<redacted>@10.0.0.41:5432/newsroom\nAWS_ACCESS_KEY_ID=<redacted>\n"
        "password_encryption = scram-sha-256\nsr_check_password = <redacted>\nDJANGO_DEBUG=0\n")


def _machine(name, role, ip, files=(), services="", problem=""):
    record = InstanceRecord(name, role, ip, "127.0.0.1", {"22": 40022, "80": 40080}, name)
    return {"record": record, "state": "running", "files": list(files), "services": services, "problem": problem}


def test_the_readme_draws_the_request_path_and_lists_machines_files_and_load_tests():
    stack = Stack(name="alice", provider="local", ssh_user="root", ssh_key="k")
    machines = [_machine("web2", "web", "10.0.0.22"), _machine("lb1", "lb", "10.0.0.11", ["/etc/nginx/sites-available/newsroom"], "nginx"),
                _machine("web1", "web", "10.0.0.21", services="apache2"), _machine("db1", "db", "10.0.0.41"),
                _machine("media1", "media", "10.0.0.51", problem="Cannot reach media1 over SSH")]
    results = {"02-baseline": {"throughput_rps": 412.4, "latency_ms": {"p50": 75.0, "p95": 120.5}, "error_rate": 0.0}}
    readme = architecture_readme(stack, machines, results, ["crash-web1.json"], own_fabfile=True)
    assert "A request goes: browser -> lb1 -> web2, web1 -> db1." in readme
    assert "Beside that path: media1 (media)." in readme
    assert "coloured by its checks at export time](stack.png)" in readme
    assert "| lb1 | lb | 10.0.0.11 | 22 -> 127.0.0.1:40022, 80 -> 127.0.0.1:40080 | running | nginx |" in readme
    assert "- [lb1:/etc/nginx/sites-available/newsroom](configs/lb1/etc/nginx/sites-available/newsroom)" in readme
    assert "- media1: not read (Cannot reach media1 over SSH)" in readme
    assert "| 02-baseline | 412 | 75.0 | 120.5 | 0.00% |" in readme
    assert "[fabfile-yours.py](fabfile-yours.py)" in readme and "[drills/crash-web1.json]" in readme


def test_a_stack_without_load_tests_or_web_tier_says_so():
    stack = Stack(name="bob", provider="local", ssh_user="root", ssh_key="k")
    readme = architecture_readme(stack, [_machine("db1", "db", "10.0.0.41")], {}, [], own_fabfile=False)
    assert "browser -> db1" in readme and "No load test was recorded." in readme and "fabfile-yours" not in readme


def test_an_earlier_export_or_an_empty_folder_is_replaced(tmp_path):
    """(Folders of the student's own are refused: tests/unit/test_cli_bad_input.py.)"""
    earlier, empty = tmp_path / "earlier", tmp_path / "empty"
    fresh_folder(earlier)
    (earlier / "configs" / "stale.conf").write_text("from the last export\n")
    empty.mkdir()
    for out in (earlier, empty):
        fresh_folder(out)
        assert sorted(p.name for p in out.iterdir()) == [MARKER, "configs"] and not any((out / "configs").iterdir())
