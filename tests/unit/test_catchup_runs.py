"""Catch-up's own load tests are short, but never shorter than what the checks accept;
the machines deployed ahead are later chapters' ones."""

from grader import mod_wsgi
from workshop import catchup
from workshop.chapters import CHAPTERS
from workshop.loadtest import PROFILES


def test_the_catch_up_profile_pushes_like_the_baseline_for_as_long_as_the_check_accepts():
    short, baseline = PROFILES["catch-up"], PROFILES["baseline"]
    assert short.same_load(baseline) and mod_wsgi.MIN_DURATION_S <= short.duration_s < baseline.duration_s


def test_work_ahead_is_for_later_chapters_machines_that_send_no_requests_to_the_others():
    """web1 is chapter 01's; varnish1's health probes through lb1 would meet chapter 07's Apache
    restarts, and nginx would take both web servers out for whatever goes through lb1 next."""
    ahead = [name for work in catchup.AHEAD for name in work.machines.split(", ")]
    first = {name: next(chapter.number for chapter in CHAPTERS if name in chapter.machines) for name in ahead}
    assert min(first.values()) > 1 and "varnish1" not in ahead
