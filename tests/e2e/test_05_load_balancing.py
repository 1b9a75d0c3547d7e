"""Chapter 05 end to end on the shared course stack: the solutions autograde to full
marks, the unmodified releases to zero, and each check catches its broken
stack: one upstream only, static files through the web servers, media on a web
server's own disk, nginx without failover settings (and the drill that proves it)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from tests.e2e.coursework import as_students, assert_full_marks_and_blank_zero, assert_rejected_and_kept, configured, failing_hints
from workshop.deploy import apache, media, nginx, postgres, web
from workshop.failure import crash_web_server
from workshop.lab import open_lab

pytestmark = pytest.mark.e2e
CHAPTER = "05-load-balancing"
ONE_PIXEL_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                 b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def test_the_solutions_autograde_to_full_marks_and_the_release_to_zero(course, folder, tmp_path):
    assert_full_marks_and_blank_zero(course, CHAPTER, folder, tmp_path)


#: A student's chapter 04 fabfile that leaves its mark on every host it deploys.
OWN_FABFILE = """from fabric import task

from workshop.deploy.releases import load_fabfile

reference = load_fabfile()


@task
def deploy(c):
    c.run("touch /tmp/deployed-by-the-students-fabfile")
    return reference.deploy(c)
"""


def test_05a_deploys_with_the_students_own_fabfile_and_keeps_the_students_vhost(folder, lab, tmp_path):
    """The 05a deploy takes the fabfile of the chapter 04 folder beside the notebook's and the
    vhost web1 runs (here marked as the student's), installed unchanged on web2 too."""
    (tmp_path / "04-fabric").mkdir()
    (tmp_path / "04-fabric" / "fabfile.py").write_text(OWN_FABFILE)
    (tmp_path / CHAPTER).mkdir()
    student = open_lab(lab.stack.name, folder=tmp_path / CHAPTER)
    settings = {"database_url": postgres.database_url(lab), "storage": media.storage_settings(lab)}
    vhost = "# the student's own vhost, from exercise 02a\n" + as_students(apache.reference_vhost())
    before = lab.instance("web1").run(f"cat {apache.SITE.path}", readonly=True).stdout
    apache.configure_apache(lab.instance("web1"), vhost)
    try:
        for name in ("web1", "web2"):
            web.deploy_own_release_web_server(student, name, **settings)
        for name in ("web1", "web2"):
            host = lab.instance(name)
            assert host.run(f"cat {apache.SITE.path}", readonly=True).stdout == vhost, name
            assert host.run("test -f /tmp/deployed-by-the-students-fabfile", readonly=True, check=False).ok, name
    finally:  # the vhost web1 ran before, on both (a reference deploy keeps a student's own)
        for name in ("web1", "web2"):
            apache.configure_apache(lab.instance(name), before)
            web.deploy_release_web_server(lab, name, **settings)


def test_uploads_through_lb1_cannot_run_script_on_the_sites_origin(folder, lab):
    """Tried as an outsider would: an anonymous POST of an HTML page through lb1 is refused;
    a text file is accepted and served back from /media/ as an unsniffed download; an image
    still displays; and the answers name no private address."""
    uploads = lab.instance("lb1").url("/api/uploads/")
    page = requests.post(uploads, files={"file": ("x.html", b"<script>alert(document.cookie)</script>", "text/html")},
                         timeout=10)
    assert page.status_code == 400 and "is not an allowed type" in page.json()["error"]
    text = requests.post(uploads, files={"file": ("note.txt", b"plain words")}, timeout=10)
    assert text.status_code == 201, text.text
    assert not re.search(r"\b10\.\d+\.\d+\.\d+", text.text) and text.json()["url"] == f"/media/{text.json()['name']}"
    served = requests.get(lab.instance("lb1").url(text.json()["url"]), timeout=10)
    assert served.content == b"plain words" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == "attachment"
    image = requests.post(uploads, files={"file": ("dot.gif", ONE_PIXEL_GIF)}, timeout=10)
    assert image.status_code == 201, image.text
    shown = requests.get(lab.instance("lb1").url(image.json()["url"]), timeout=10)
    assert shown.headers["Content-Type"] == "image/gif" and "Content-Disposition" not in shown.headers


def test_nginx_with_one_upstream_is_caught(folder, lab):
    with _lb_config(lab, as_students(nginx.reference_lb_config(lab, ("web1",)))):
        assert "no response came from web2" in failing_hints(folder, CHAPTER, "lb-balances-both")


def test_static_files_through_the_web_servers_are_caught(folder, lab):
    relayed = as_students(nginx.reference_lb_config(lab)).replace("location /static/ {", "location /static-unused/ {")
    with _lb_config(lab, relayed):
        assert "static files still go through" in failing_hints(folder, CHAPTER, "static-from-nginx")


def test_media_on_a_web_servers_own_disk_is_caught(folder, lab):
    database = postgres.database_url(lab)
    for name in ("web1", "web2"):
        web.deploy_release_web_server(lab, name, database_url=database)
    try:
        assert "media is on web1's own disk" in failing_hints(folder, CHAPTER, "shared-media")
    finally:
        for name in ("web1", "web2"):
            web.deploy_release_web_server(lab, name, database_url=database, storage=media.storage_settings(lab))


def test_nginx_without_failover_settings_is_caught_by_config_and_by_the_drill(folder, lab):
    naive = (as_students(nginx.reference_lb_config(lab)).replace("proxy_next_upstream error timeout http_502 http_503;",
                                                    "proxy_next_upstream off;")
             .replace("proxy_connect_timeout 1s;", ""))
    with _lb_config(lab, naive):
        hints = failing_hints(folder, CHAPTER, "failover-settings")
        assert "proxy_next_upstream is off" in hints and "proxy_connect_timeout is the default" in hints
        crash_web_server(lab, "web1", through="lb1")
        # the drill was recorded in the lab's folder and the stack's: point the check at the latter
        assert "requests failed while web1 was down" in failing_hints(lab.folder, CHAPTER, "crash-survived")
    crash_web_server(lab, "web1", through="lb1")


def test_a_site_nginx_rejects_leaves_the_previous_one_live(folder, lab):
    lb1 = lab.instance("lb1")
    assert_rejected_and_kept(lambda text: nginx.configure_nginx(lb1, text), lb1, nginx.SITE.path,
                             as_students(nginx.reference_lb_config(lab)) + "no_such_directive on;\n",
                             "(?s)nginx -t rejected the configuration; the previous configuration stays live:\n"
                             '.*unknown directive "no_such_directive"')


def _lb_config(lab, site):
    """A different nginx site on lb1 for the duration of a `with`, then the reference one."""
    return configured(lambda text: nginx.configure_nginx(lab.instance("lb1"), text), site,
                      as_students(nginx.reference_lb_config(lab)))


@pytest.mark.parametrize("edit, hint", [
    (lambda drill: {**drill, "requests": drill["requests"] * 2}, "requests, but lb1's access log shows"),
    (lambda drill: {**drill, "run_id": uuid.uuid4().hex}, "lb1's access log shows no request of the recorded crash"),
])
def test_an_edited_crash_drill_record_is_caught_by_lb1s_log(folder, tmp_path, edit, hint):
    """The drill the solution recorded, edited beside a copy of the notebook's descriptor."""
    (tmp_path / "workshop-stack.json").write_text((folder / "workshop-stack.json").read_text())
    (tmp_path / "crash-web1.json").write_text(json.dumps(edit(json.loads((folder / "crash-web1.json").read_text()))))
    assert hint in failing_hints(tmp_path, CHAPTER, "crash-survived")
