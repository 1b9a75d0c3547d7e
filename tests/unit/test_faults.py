"""The fault battery's arithmetic (workshop/faults.py), without machines."""

from workshop.failure import Sample
from workshop.faults import TABLE_HEADER, FaultResult, _serving_again, _settled


def samples(statuses, interval=0.1, latency=0.01):
    return [Sample(index, index * interval, status, None, latency) for index, status in enumerate(statuses)]


def test_the_site_serves_again_at_the_answer_of_the_first_success_after_the_last_failure():
    probe = samples([200, 201, None, 503, 200, 500, 201, 200])
    assert round(_serving_again(probe, injected_s=0.15), 2) == round(0.6 + 0.01 - 0.15, 2)
    assert _serving_again(samples([200, 201]), injected_s=0.1) == 0.0
    assert _serving_again(samples([200, 503, 503]), injected_s=0.1) is None


def test_the_probe_stops_only_after_the_fault_is_over_and_enough_successes_in_a_row_followed_it():
    probe = samples([200] * 30)
    assert not _settled(probe, {"at": 0.5})                  # the fault is still being done
    assert not _settled(probe, {"at": 0.5, "done": 2.5})     # the last 20 began at 1.0 s, before it was over
    assert _settled(probe, {"at": 0.5, "done": 1.0})
    assert not _settled(samples([200] * 29 + [503]), {"at": 0.5, "done": 1.0})


def test_a_result_is_a_row_of_the_docs_table():
    row = FaultResult("pgpool2 on pgpool1", 120, 3, 0.52, None, 60, 0).row()
    assert row == "| pgpool2 on pgpool1 | 120 | 3 | 0.5 s | never | 0 of 60 |"
    assert TABLE_HEADER.splitlines()[0].count("|") == row.count("|")
