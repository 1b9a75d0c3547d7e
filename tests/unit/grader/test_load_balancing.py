"""Chapter 05's checks on a scripted stack: each passes with lb1 balancing web1 and web2 and names the fix when broken."""

import itertools

import pytest

from grader.result import PASSED

from tests.unit.record_samples import crash_drill

from .kit import access_log, assert_hint, check_ids, health, own_answer, respond, run

CHAPTER = "05-load-balancing"
NGINX_T = """http {
    upstream newsroom { server 10.0.0.21:80; server 10.0.0.22:80; }
    server {
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 2;
        proxy_connect_timeout 1s;
        proxy_set_header Host $host;
    }
}
"""
DRILL = crash_drill("units", recovery_s=4.2).to_dict()
#: 05b's prediction and explanation of that drill (slowest 1.02 s: the 1 s connect timeout, then web2).
EXPLAINED = {"predicted_failed": 3, "slowest_s": 1.02, "bounded_by": "proxy_connect_timeout"}
AGENT = f"workshop-drill/crash-web1 run/{DRILL['run_id']}"


def logged(target, statuses):
    """lb1's access log shows the drill's requests, answered with `statuses`."""
    target.on_ssh("lb1", "/var/log/nginx/access.log*", access_log(AGENT, statuses, seconds=8))


def through_lb(*webs, server="nginx/1.22.1"):
    """lb1's /health/ answers, from each of `webs` in turn."""
    turns = itertools.cycle(webs)
    return lambda path, kwargs: respond(json={}, headers={"Server": server, "X-Served-By": next(turns)})


class SharedMedia:
    """Uploads through web1 that web2 and lb1 serve back (or not, for `broken`)."""

    def __init__(self, target, broken=()):
        self.files = {}
        target.on_http("web1", "/api/uploads/", self.upload, method="POST")
        target.on_http("web2", "/api/uploads/*", lambda path, kwargs: self.serve("web2" in broken, path))
        target.on_http("lb1", "/media/*", lambda path, kwargs: self.serve("lb1" in broken, path))

    def upload(self, path, kwargs):
        name, content = kwargs["files"]["file"]
        self.files[name] = content
        return respond(201, json={"name": name})

    def serve(self, broken, path):
        content = self.files.get(path.rsplit("/", 1)[-1])
        return respond(404, text="Not Found") if broken or content is None else respond(content=content)


@pytest.fixture
def healthy(target):
    target.on_http("lb1", "/health/", through_lb("web1", "web2"))
    target.on_http("lb1", "/static/articles/site.css", respond(text="body {}", headers={"Server": "nginx"}))
    for web in ("web1", "web2"):
        target.on_ssh(web, "grep -cF", "0\n")
        target.on_http(web, "/health/", health(web))
    SharedMedia(target)
    target.on_ssh("lb1", "nginx -T", NGINX_T)
    target.recordings["crash-web1.json"] = dict(DRILL)
    logged(target, [200] * 300)
    return target


@pytest.mark.parametrize("check_id", check_ids(CHAPTER))
def test_each_check_passes_with_lb1_balancing_both(healthy, check_id):
    result = run(healthy, CHAPTER, check_id, **own_answer(healthy, CHAPTER), **EXPLAINED)
    assert (result.status, result.hints) == (PASSED, [])


@pytest.mark.parametrize("check_id, break_it, hint", [
    ("lb-balances-both", lambda t: t.on_http("lb1", "/health/", through_lb("web1", "web2", server="Apache")),
     "lb1:80 is answered by Apache, not nginx"),
    ("lb-balances-both", lambda t: t.on_http("lb1", "/health/", through_lb("web1")),
     "through lb1 no response came from web2"),
    ("static-from-nginx", lambda t: t.on_http("lb1", "/static/articles/site.css", respond(404)),
     "lb1 answers /static/articles/site.css with HTTP 404"),
    ("static-from-nginx", lambda t: t.on_ssh("web2", "grep -cF", "1\n"), "static files still go through web2"),
    ("shared-media", lambda t: t.on_http("web1", "/api/uploads/", respond(403, text="Forbidden"), method="POST"),
     "uploading through web1 failed (HTTP 403: Forbidden)"),
    ("shared-media", lambda t: SharedMedia(t, broken=("web2",)), "web2 cannot read a file uploaded through web1"),
    ("shared-media", lambda t: SharedMedia(t, broken=("lb1",)), "lb1 answers /media/probe-"),
    ("failover-settings", lambda t: t.on_ssh("lb1", "nginx -T", NGINX_T.replace("error timeout http_502 http_503",
                                                                               "off")),
     "proxy_next_upstream is off"),
    ("failover-settings", lambda t: t.on_ssh("lb1", "nginx -T", NGINX_T.replace(" http_502 http_503", "")),
     "proxy_next_upstream does not retry on http_502, http_503"),
    ("failover-settings", lambda t: t.on_ssh("lb1", "nginx -T", NGINX_T.replace("    proxy_next_upstream error timeout "
                                                                               "http_502 http_503;\n", "")),
     "proxy_next_upstream does not retry on http_502, http_503"),
    ("failover-settings", lambda t: t.on_ssh("lb1", "nginx -T", NGINX_T.replace("tries 2", "tries 1")),
     "proxy_next_upstream_tries 1 allows the first try only"),
    ("failover-settings", lambda t: t.on_ssh("lb1", "nginx -T", NGINX_T.replace("proxy_connect_timeout 1s;\n", "")),
     "proxy_connect_timeout is the default 60 s"),
    ("crash-survived", lambda t: t.recordings.clear(), "no crash drill recorded"),
    ("crash-survived", lambda t: t.recordings["crash-web1.json"].update(stack="other"),
     "the recorded crash drill for web1 ran against stack other, not units"),
    ("crash-survived", lambda t: t.recordings["crash-web1.json"].update(requests=50),
     "the drill sent only 50 requests"),
    ("crash-survived", lambda t: t.recordings["crash-web1.json"].update(failed=7),
     "7 requests failed while web1 was down"),
    ("crash-survived", lambda t: t.recordings["crash-web1.json"].update(recovery_s=None),
     "web1 is not back in rotation"),
])
def test_each_hint_names_the_fix(healthy, check_id, break_it, hint):
    break_it(healthy)
    assert_hint(run(healthy, CHAPTER, check_id), hint)


def forged(**fields):
    return lambda t: t.recordings["crash-web1.json"].update(fields)


@pytest.mark.parametrize("forge, hint", [
    (forged(requests=600), f"the record claims 600 requests, but lb1's access log shows 300 of its run "
                           f"({DRILL['run_id']})"),
    (lambda t: logged(t, [200] * 60 + [502] * 7 + [200] * 233),
     "the record claims 0 failed requests, but lb1 answered 7 of the drill's requests with an error"),
    (lambda t: logged(t, [200] * 60 + [502] * 7 + [200] * 233), "7 requests failed while web1 was down"),
    (lambda t: logged(t, [200] * 150), "the drill sent only 150 requests"),
    (forged(run_id="f" * 32), f"lb1's access log shows no request of the recorded crash drill for web1 "
                              f"(run {'f' * 32})"),
    (forged(run_id=None), "the recorded crash drill for web1 has no run id and start time"),
    (forged(started_at=None), "the recorded crash drill for web1 has no run id and start time"),
    (lambda t: t.recordings.update({"crash-web1.json": crash_drill("units", recovery_s=4.2).to_dict()}),
     "lb1's access log shows no request of the recorded crash drill"),
])
def test_a_forged_crash_drill_fails_with_what_lb1_saw(healthy, forge, hint):
    forge(healthy)
    assert_hint(run(healthy, "05-load-balancing", "crash-survived"), hint)


def test_catch_ups_crash_drill_earns_no_marks_nor_passes_for_the_students_once_edited(healthy):
    healthy.recordings["crash-web1.json"].update(by_catch_up=True)
    healthy.on_ssh("lb1", "/var/log/nginx/access.log*", access_log(f"{AGENT} by/catch-up", [200] * 300, seconds=8))
    assert_hint(run(healthy, CHAPTER, "crash-survived"),
                "the recorded crash drill for web1 was run by `workshop catch-up`, which is for moving on")
    healthy.recordings["crash-web1.json"].update(by_catch_up=False)
    assert_hint(run(healthy, CHAPTER, "crash-survived"), "lb1's access log shows no request of the recorded crash drill")


def explained(target, **answers):
    return run(target, CHAPTER, "crash-explained", **{**EXPLAINED, **answers})


def test_a_prediction_is_compared_not_graded(healthy):
    assert explained(healthy, predicted_failed=120).status == PASSED


@pytest.mark.parametrize("predicted", [None, -1, 2.5, "a few"])
def test_a_prediction_that_is_no_count_is_named(healthy, predicted):
    assert_hint(explained(healthy, predicted_failed=predicted), "`predicted_failed` is not a whole number")


def test_a_slowest_request_misread_is_caught(healthy):
    assert_hint(explained(healthy, slowest_s=0.02),
                "slowest_s is 0.02, but the drill's slowest request took 1.02 s")


@pytest.mark.parametrize("bounded_by", ["proxy_read_timeout", "fail_timeout", "none", None])
def test_the_wrong_timeout_is_caught(healthy, bounded_by):
    assert_hint(explained(healthy, bounded_by=bounded_by), f"bounded_by is {bounded_by!r}: which of lb1's timeouts")


def test_the_timeout_is_read_from_lb1s_own_configuration(healthy):
    """With a 2 s connect timeout (and a drill whose slowest request waited it out), that is the answer."""
    healthy.on_ssh("lb1", "nginx -T", NGINX_T.replace("proxy_connect_timeout 1s;", "proxy_connect_timeout 2000ms;"))
    healthy.recordings["crash-web1.json"]["max_latency_s"] = 2.05
    assert explained(healthy, slowest_s=2.05).status == PASSED
    assert_hint(explained(healthy, slowest_s=2.05, bounded_by="none"), "bounded_by is 'none'")


def test_a_drill_that_waited_out_no_timeout_is_explained_by_none(healthy):
    healthy.recordings["crash-web1.json"]["max_latency_s"] = 0.08
    assert explained(healthy, slowest_s=0.08, bounded_by="none").status == PASSED


def test_an_unset_timeout_is_nginxs_default_minute(healthy):
    healthy.on_ssh("lb1", "nginx -T", NGINX_T.replace("        proxy_connect_timeout 1s;\n", ""))
    healthy.recordings["crash-web1.json"]["max_latency_s"] = 60.3
    assert explained(healthy, slowest_s=60.3).status == PASSED
