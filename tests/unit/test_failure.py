"""What exercise 05b prints from a crash drill, including a victim that never came back."""

from tests.unit.record_samples import crash_drill
from workshop.failure import crash_summary


def test_a_drill_whose_victim_came_back_reads_as_numbers():
    drill = crash_drill(failed=2, max_latency_s=1.034, recovery_s=3.14).to_dict()
    assert crash_summary(drill) == ("2 of 300 requests failed\nslowest request: 1.03 s\n"
                                    "web1 back in rotation 3.1 s after it was started again")


def test_a_victim_that_never_came_back_is_a_sentence_not_a_type_error():
    summary = crash_summary(crash_drill(recovery_s=None).to_dict())
    assert summary.splitlines()[-1].startswith("web1 was not back in rotation within 60 s of being started again")
    assert "systemctl status apache2" in summary
