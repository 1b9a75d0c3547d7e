"""Chapter 06 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and each check catches its broken stack: a
single memcached, memcached on loopback only."""

from __future__ import annotations

import pytest

from tests.e2e.coursework import as_students, assert_full_marks_and_blank_zero, assert_rejected_and_kept, configured, failing_hints
from workshop.deploy import memcached, settings, web

pytestmark = pytest.mark.e2e
CHAPTER = "06-caching"


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_a_single_memcached_is_caught(folder, lab):
    single = dict(settings.reference_settings(lab, 6), cache_servers=settings.cache_servers(lab, ("cache1",)))
    try:
        for name in ("web1", "web2"):
            web.deploy_release_web_server(lab, name, **single)
        assert "CACHE_SERVERS lacks cache2" in failing_hints(folder, CHAPTER, "web-servers-use-both")
        assert "cache2 stored no keys" in failing_hints(folder, CHAPTER, "keys-on-both")
    finally:
        for name in ("web1", "web2"):
            web.deploy_release_web_server(lab, name, **settings.reference_settings(lab, 6))


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
