"""What exercise 05b prints from a crash drill, including a victim that never came back."""

from types import SimpleNamespace

from tests.unit.record_samples import crash_drill
from workshop.failure import crash_summary, probe_during_kill


def test_a_drill_whose_victim_came_back_reads_as_numbers():
    drill = crash_drill(failed=2, max_latency_s=1.034, recovery_s=3.14).to_dict()
    assert crash_summary(drill) == ("2 of 300 requests failed\nslowest request: 1.03 s\n"
                                    "web1 back in rotation 3.1 s after it was started again")


def test_a_victim_that_never_came_back_is_a_sentence_not_a_type_error():
    summary = crash_summary(crash_drill(recovery_s=None).to_dict())
    assert summary.splitlines()[-1].startswith("web1 was not back in rotation within 60 s of being started again")
    assert "systemctl status apache2" in summary


class _Events:
    """A lab whose provider's kill and a drill's requests log what happens in order."""

    def __init__(self):
        self.log = []
        self.provider = self

    def require_stack(self):
        return "stack"

    def kill(self, stack, victim):
        self.log.append(f"kill {victim}")

    def forget_connections(self, victim):
        self.log.append(f"dead {victim}")

    def send(self, index):
        self.log.append(f"request {index}")
        return SimpleNamespace(status_code=201, headers={})


def test_the_kill_starts_as_request_kill_after_goes_out_and_the_requests_race_it():
    lab = _Events()
    samples, _ = probe_during_kill(lab, "db1", lab.send, requests_total=4, interval=0, kill_after=2)
    assert lab.log.index("kill db1") > lab.log.index("request 1")
    assert [sample.status for sample in samples] == [201] * 4
