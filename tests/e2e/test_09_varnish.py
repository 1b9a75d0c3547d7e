"""Chapter 09 end to end on the shared course stack: the solution autogrades to full
marks, the unmodified release to zero, and each check catches its broken stack:
Varnish caching POSTs or admin pages, Varnish bypassing the load balancer or with a
backend that stays sick, no grace;
and grace serves a stale page while the load balancer is down."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

import grader
from tests.e2e.coursework import as_students, assert_full_marks_and_blank_zero, assert_rejected_and_kept, configured, failing_hints
from workshop.deploy import varnish

pytestmark = pytest.mark.e2e
CHAPTER = "09-varnish"
METHOD_PASS = re.compile(r'    if \(req.method != "GET" && req.method != "HEAD"\) \{\n        return \(pass\);\n    \}\n')


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


def test_a_vcl_varnish_cannot_compile_leaves_the_running_one_active(folder, lab):
    varnish1 = lab.instance("varnish1")
    assert_rejected_and_kept(lambda text: varnish.configure_varnish(varnish1, text), varnish1, varnish.VCL,
                             as_students(varnish.reference_vcl(lab)) + "\nsub vcl_recv { no_such_function(); }\n",
                             "(?s)varnishd -C rejected the VCL; the previous configuration stays live:\n"
                             ".*no_such_function")


def test_a_vcl_loaded_a_moment_ago_is_waited_for_not_blamed(folder, lab):
    """A VCL just made active starts with its backend sick until the probe's window fills, and
    Varnish answers 503 meanwhile: the check waits for it instead of blaming the backend address."""
    varnish1 = lab.instance("varnish1")
    name = f"fresh{uuid.uuid4().hex[:8]}"
    varnish1.run(f"varnishadm vcl.load {name} {varnish.VCL} && varnishadm vcl.use {name}")
    grader.assert_checks(CHAPTER, "varnish-in-front", folder=str(folder))


def test_varnish_caching_posts_is_caught(folder, lab):
    caching_posts = METHOD_PASS.sub("", as_students(varnish.reference_vcl(lab)))
    assert caching_posts != as_students(varnish.reference_vcl(lab))
    with _vcl(lab, caching_posts):
        assert "a POST to / came back from the cache" in failing_hints(folder, CHAPTER, "private-requests-pass")


def test_varnish_caching_admin_pages_is_caught(folder, lab):
    caching_admin = (as_students(varnish.reference_vcl(lab)).replace("^/(admin|accounts|", "^/(")
                     .replace("sub vcl_backend_response {\n", "sub vcl_backend_response {\n"
                              "    if (bereq.url ~ \"^/admin\") {\n        unset beresp.http.Set-Cookie;\n"
                              "        set beresp.ttl = 1m;\n        return (deliver);\n    }\n"))
    with _vcl(lab, caching_admin):
        assert "/admin/ pages come from the cache" in failing_hints(folder, CHAPTER, "private-requests-pass")


def test_varnish_bypassing_the_load_balancer_is_caught(folder, lab):
    with _vcl(lab, as_students(varnish.reference_vcl(lab, backend="web1"))):
        assert "never reached lb1" in failing_hints(folder, CHAPTER, "varnish-in-front")


def test_a_backend_that_stays_sick_is_named_as_such(folder, lab):
    """A VCL whose backend is a port lb1 does not listen on: Varnish answers every miss 503, and the
    check says the backend stayed sick past the probe's window (not that the address is wrong)."""
    wrong_port = as_students(varnish.reference_vcl(lab)).replace('.port = "80";', '.port = "81";')
    assert wrong_port != as_students(varnish.reference_vcl(lab))
    with _vcl(lab, wrong_port):
        assert "the active VCL on varnish1 has had no healthy backend for 20 s" in failing_hints(
            folder, CHAPTER, "varnish-in-front")


def test_varnish_without_grace_is_caught(folder, lab):
    without_grace = as_students(varnish.reference_vcl(lab)).replace("    set beresp.grace = 6h;\n", "")
    with _vcl(lab, without_grace):
        assert "objects are kept only 10 s past their TTL" in failing_hints(folder, CHAPTER, "grace-configured")


def test_grace_serves_a_stale_page_while_the_load_balancer_is_down(folder, lab):
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


def _vcl(lab, vcl):
    """A different VCL on varnish1 for the duration of a `with`, then the reference one."""
    return configured(lambda text: varnish.configure_varnish(lab.instance("varnish1"), text), vcl,
                      as_students(varnish.reference_vcl(lab)))
