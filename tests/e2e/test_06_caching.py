"""Chapter 06 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and each check catches its broken stack: a
single memcached in CACHES, CACHES without ignore_exc, a BACKEND the app cannot load,
memcached on loopback only."""

from __future__ import annotations

import pytest

from tests.e2e.coursework import as_students, assert_full_marks_and_blank_zero, assert_rejected_and_kept, configured, failing_hints
from workshop.cache_settings import parse_caches
from workshop.deploy import app, memcached

pytestmark = pytest.mark.e2e
CHAPTER = "06-caching"


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def students_caches(lab, **default) -> dict:
    """The solution's CACHES (the course's, read from its file), with `default`'s entries changed."""
    caches = parse_caches(memcached.reference_cache_settings(lab))
    return {"default": {**caches["default"], **default}}


def test_a_single_memcached_is_caught(folder, lab):
    with configured(lambda caches: memcached.configure_caches(lab, caches),
                    students_caches(lab, LOCATION=memcached.cache_locations(lab, ("cache1",))), students_caches(lab)):
        assert "CACHES LOCATION lacks cache2" in failing_hints(folder, CHAPTER, "web-servers-use-both")
        assert "cache2 stored no keys" in failing_hints(folder, CHAPTER, "keys-on-both")
        assert "web1 runs other cache settings than your `caches`" in failing_hints(
            folder, CHAPTER, "runs-your-caches", caches=students_caches(lab))


def test_caches_that_would_fail_every_page_with_a_dead_server_are_caught(folder, lab):
    fragile = students_caches(lab, OPTIONS={"connect_timeout": 1, "timeout": 1})
    with configured(lambda caches: memcached.configure_caches(lab, caches), fragile, students_caches(lab)):
        assert "your CACHES has no OPTIONS 'ignore_exc': True" in failing_hints(
            folder, CHAPTER, "runs-your-caches", caches=fragile)


def test_cache_settings_the_app_cannot_use_are_refused_and_the_previous_stay(lab):
    web1 = lab.instance("web1")
    typo = students_caches(lab, BACKEND="django.core.cache.backends.memcached.PyMemcachedCache")
    assert_rejected_and_kept(lambda caches: memcached.configure_caches(lab, caches, ("web1",)), web1,
                             app.CACHE_SETTINGS_PATH, typo, "the app cannot use these cache settings "
                             "(?s:.*)PyMemcachedCache")


def test_a_memcached_configuration_it_cannot_start_with_is_replaced_by_the_previous_one(folder, lab):
    cache2 = lab.instance("cache2")
    elsewhere = as_students(memcached.reference_memcached_config(lab, "cache2")).replace(lab.planned_ip("cache2"), "192.0.2.1")
    assert_rejected_and_kept(lambda text: memcached.configure_memcached(cache2, text), cache2, memcached.CONFIG,
                             elsewhere, "memcached did not start with the new configuration; the previous "
                                        "configuration is back:")
    assert cache2.run("systemctl is-active -q memcached", readonly=True, check=False).ok


def test_memcached_on_loopback_only_is_caught(folder, lab):
    cache2 = lab.instance("cache2")
    loopback = as_students(memcached.reference_memcached_config(lab, "cache2")).replace(f",{lab.planned_ip('cache2')}", "")
    with configured(lambda text: memcached.configure_memcached(cache2, text), loopback,
                    as_students(memcached.reference_memcached_config(lab, "cache2"))):
        assert "memcached on cache2 listens only on loopback" in failing_hints(folder, CHAPTER, "memcached-on-both")
