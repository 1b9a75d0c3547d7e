"""Chapters 06, 09 and 10 end to end on one stack caught up to chapter 05: the
solutions autograde to full marks, the unmodified releases to zero, and each
check catches its broken stack: a single memcached, memcached on loopback only,
Varnish caching POSTs or admin pages, Varnish bypassing the load balancer,
no grace, and a final load test that skipped Varnish."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from tests.e2e.coursework import (assert_full_marks_and_blank_zero, assert_rejected_and_kept, caught_up, configured,
                                  failing_hints, work_through)
from workshop import loadtest
from workshop.course import Course
from workshop.deploy import memcached, settings, varnish, web
from workshop.lab import open_lab

pytestmark = pytest.mark.e2e
CHAPTERS = ("06-caching", "09-varnish", "10-final-load-test")
METHOD_PASS = re.compile(r'    if \(req.method != "GET" && req.method != "HEAD"\) \{\n        return \(pass\);\n    \}\n')


@pytest.fixture(scope="module")
def lab(stack_name, tmp_path_factory):
    return caught_up(stack_name, tmp_path_factory, 5)


@pytest.fixture(scope="module")
def folders(lab, tmp_path_factory):
    """Each chapter's solutions, worked through in course order on the same stack."""
    root = tmp_path_factory.mktemp("student")
    printed = {chapter: work_through(chapter, root / chapter) for chapter in CHAPTERS}
    assert "Chapter 06-caching: 3/3 points" in printed["06-caching"]
    assert "final / baseline = " in printed["10-final-load-test"]
    return {chapter: root / chapter for chapter in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(chapter, folders, tmp_path):
    assert_full_marks_and_blank_zero(Course(tmp_path / "course"), chapter, folders[chapter], tmp_path)


def test_a_single_memcached_is_caught(folders, lab):
    single = dict(settings.reference_settings(lab, 6), cache_servers=settings.cache_servers(lab, ("cache1",)))
    try:
        for name in ("web1", "web2"):
            web.deploy_release_web_server(lab, name, **single)
        folder = folders["06-caching"]
        assert "CACHE_SERVERS lacks cache2" in failing_hints(folder, "06-caching", "web-servers-use-both")
        assert "cache2 stored no keys" in failing_hints(folder, "06-caching", "keys-on-both")
    finally:
        for name in ("web1", "web2"):
            web.deploy_release_web_server(lab, name, **settings.reference_settings(lab, 6))


def test_memcached_on_loopback_only_is_caught(folders, lab):
    cache2 = lab.instance("cache2")
    loopback = memcached.reference_memcached_config(lab, "cache2").replace(f",{lab.planned_ip('cache2')}", "")
    with configured(lambda text: memcached.configure_memcached(cache2, text), loopback,
                    memcached.reference_memcached_config(lab, "cache2")):
        assert "memcached on cache2 listens only on loopback" in failing_hints(
            folders["06-caching"], "06-caching", "memcached-on-both")


def test_a_memcached_configuration_it_cannot_start_with_is_replaced_by_the_previous_one(folders, lab):
    cache2 = lab.instance("cache2")
    elsewhere = memcached.reference_memcached_config(lab, "cache2").replace(lab.planned_ip("cache2"), "192.0.2.1")
    assert_rejected_and_kept(lambda text: memcached.configure_memcached(cache2, text), cache2, memcached.CONFIG,
                             elsewhere, "memcached did not start with the new configuration; the previous "
                                        "configuration is back:")
    assert cache2.run("systemctl is-active -q memcached", readonly=True, check=False).ok


def test_a_vcl_varnish_cannot_compile_leaves_the_running_one_active(folders, lab):
    varnish1 = lab.instance("varnish1")
    assert_rejected_and_kept(lambda text: varnish.configure_varnish(varnish1, text), varnish1, varnish.VCL,
                             varnish.reference_vcl(lab) + "\nsub vcl_recv { no_such_function(); }\n",
                             "(?s)varnishd -C rejected the VCL; the previous configuration stays live:\n.*no_such_function")


def test_varnish_caching_posts_is_caught(folders, lab):
    caching_posts = METHOD_PASS.sub("", varnish.reference_vcl(lab))
    assert caching_posts != varnish.reference_vcl(lab)
    with _vcl(lab, caching_posts):
        assert "a POST to / came back from the cache" in failing_hints(
            folders["09-varnish"], "09-varnish", "private-requests-pass")


def test_varnish_caching_admin_pages_is_caught(folders, lab):
    caching_admin = (varnish.reference_vcl(lab).replace("^/(admin|accounts|", "^/(")
                     .replace("sub vcl_backend_response {\n", "sub vcl_backend_response {\n"
                              "    if (bereq.url ~ \"^/admin\") {\n        unset beresp.http.Set-Cookie;\n"
                              "        set beresp.ttl = 1m;\n        return (deliver);\n    }\n"))
    with _vcl(lab, caching_admin):
        assert "/admin/ pages come from the cache" in failing_hints(
            folders["09-varnish"], "09-varnish", "private-requests-pass")


def test_varnish_bypassing_the_load_balancer_is_caught(folders, lab):
    with _vcl(lab, varnish.reference_vcl(lab, backend="web1")):
        assert "never reached lb1" in failing_hints(folders["09-varnish"], "09-varnish", "varnish-in-front")


def test_varnish_without_grace_is_caught(folders, lab):
    without_grace = varnish.reference_vcl(lab).replace("    set beresp.grace = 6h;\n", "")
    with _vcl(lab, without_grace):
        assert "objects are kept only 10 s past their TTL" in failing_hints(
            folders["09-varnish"], "09-varnish", "grace-configured")


def test_grace_serves_a_stale_page_while_the_load_balancer_is_down(folders, lab):
    """Bounded: one page stored, nginx stopped, the page's 60 s TTL waited out, one request."""
    page = lab.instance("varnish1").url(f"/?grace-probe={uuid.uuid4().hex}")
    stored_at = time.monotonic()
    assert requests.get(page, timeout=10).status_code == 200
    lb1 = lab.instance("lb1")
    lb1.run("systemctl stop nginx")
    try:
        time.sleep(max(0.0, stored_at + 62 - time.monotonic()))
        stale = requests.get(page, timeout=10)
    finally:
        lb1.run("systemctl start nginx")
    assert stale.status_code == 200 and int(stale.headers["Age"]) >= 60


def test_a_final_load_test_that_skipped_varnish_is_caught(folders, lab, tmp_path):
    elsewhere = open_lab(lab.stack.name, folder=tmp_path)
    loadtest.run(elsewhere, "10-final", lab.instance("lb1"))
    assert "not varnish1" in failing_hints(tmp_path, "10-final-load-test", "final-load-test")


def _vcl(lab, vcl):
    """A different VCL on varnish1 for the duration of a `with`, then the reference one."""
    return configured(lambda text: varnish.configure_varnish(lab.instance("varnish1"), text), vcl,
                      varnish.reference_vcl(lab))
