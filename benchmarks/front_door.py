"""The front door at this machine's limit (issue 11), measured in one run (docs/performance.md):

(a) final: the stack caught up to chapter 10, its home page through varnish1;
(b) ceiling: the same varnishd answering a small page synthesised in vcl_recv (no backend,
    no cache lookup), through the same published port;
(c) baseline: web1 alone on SQLite (the chapter 02 stack), re-measured here;
(a2) the course VCL with one line more, to see what compression costs: the page stored
    uncompressed;

all with the load tests' `baseline` profile, and where each run's CPU went (wrk, each
container, the rest of the machine). The ceiling VCLs (benchmarks/ceiling.vcl.j2) and the
variants are loaded with varnishadm beside the course's own VCL, which is made active again
afterwards.

Run: .venv/bin/python -m benchmarks.front_door   (creates and removes a uniquely named stack)
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import jinja2
import requests

from workshop import loadtest
from workshop.catchup import catch_up
from workshop.deploy.varnish import reference_vcl
from workshop.engine import find_engine
from workshop.image import ensure_image
from workshop.lab import Instance, Lab, open_lab
from workshop.providers.local import container_name
from workshop.waiting import wait_until

CEILING_VCL = jinja2.Template((Path(__file__).parent / "ceiling.vcl.j2").read_text(), keep_trailing_newline=True)
SMALL_BODY = b"<!doctype html><title>ok</title>\n"
# Which headers wrk sends (configs/wrk/report.lua): the User-Agent and Accept-Encoding: gzip.
WRK_HEADERS = {"User-Agent": "workshop-loadtest/front-door", "Accept-Encoding": "gzip", "Accept": None}


def host_busy_s() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / ticks, idle / ticks


def container_cpu_s(cgroup: str) -> float:
    """CPU seconds a container used so far (cgroup v1 cpuacct, or v2 cpu.stat)."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct{cgroup}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    stat = dict(line.split() for line in Path(f"/sys/fs/cgroup{cgroup}/cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


class CpuShares:
    """Where the CPU went while a load test ran: wrk, each container, the rest of the machine."""

    def __init__(self, lab: Lab):
        engine = find_engine()
        self.cgroups = {name: engine.run("inspect", "--format", "{{.State.CgroupPath}}",
                                         container_name(lab.stack, name)).stdout.strip()
                        for name in lab.stack.instances}

    def _sample(self) -> dict[str, float]:
        busy, idle = host_busy_s()
        wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"busy": busy, "idle": idle, "wrk": wrk.ru_utime + wrk.ru_stime,
                **{name: container_cpu_s(cgroup) for name, cgroup in self.cgroups.items()}}

    @contextmanager
    def measuring(self, into: dict):
        """Fill `into` with the cores (CPU seconds per second) each part used in the `with`."""
        before, started = self._sample(), time.monotonic()
        yield
        after, elapsed = self._sample(), time.monotonic() - started
        into.update({key: (after[key] - before[key]) / elapsed for key in before})


def load_test(lab: Lab, stage: str, target: Instance, cpu: CpuShares) -> dict:
    """The `baseline` profile against `target`, with the cores each part used."""
    shares: dict[str, float] = {}
    with cpu.measuring(shares):
        result = loadtest.run(lab, stage, target)
    return {**result, "cores": shares}


def home_page(varnish: Instance) -> requests.Response:
    """The home page as wrk asks for it (gzip accepted), through varnish1."""
    return requests.get(varnish.url("/"), headers=WRK_HEADERS, timeout=10)


@contextmanager
def vcl_active(varnish: Instance, label: str, vcl: str, files: dict[str, bytes] | None = None):
    """`vcl` (with `files` beside it) active on `varnish` for the `with`; then the VCL that
    was active before, the cache emptied of what `vcl` stored, and `vcl` discarded."""
    files = {**(files or {}), f"/etc/varnish/{label}.vcl": vcl.encode()}
    for path, data in files.items():
        varnish.put_bytes(path, data)
    active = next(line.split()[-1] for line in varnish.run("varnishadm vcl.list").stdout.splitlines()
                  if line.startswith("active"))
    varnish.run(f"varnishadm vcl.load {label} /etc/varnish/{label}.vcl && varnishadm vcl.use {label} "
                "&& varnishadm ban req.url '~' .")
    try:
        # A new VCL's backend starts sick until its first probe answers: 503s until then.
        answer = wait_until(lambda: home_page(varnish).status_code, timeout=15, interval=0.5,
                            done=lambda code: code == 200)
        assert answer == 200, f"{label}: varnish1 answered {answer} 15 s after the switch"
        yield
    finally:
        varnish.run(f"varnishadm vcl.use {active} && varnishadm ban req.url '~' . && varnishadm vcl.discard {label} "
                    f"&& rm -f {' '.join(files)}")


def ceiling(varnish: Instance, label: str, body: bytes):
    """Varnish's ceiling VCL answering every request with `body`, for a `with`. Text only:
    VCL strings end at a NUL byte, so a gzip body would be cut to its first three bytes."""
    body_file = f"/etc/varnish/{label}.body"
    return vcl_active(varnish, label, CEILING_VCL.render(body_file=body_file), {body_file: body})


def course_vcl_with(lab: Lab, sub: str, line: str) -> str:
    """The course's VCL with `line` added at the top of `sub`: an experiment, never deployed."""
    opening = f"sub {sub} {{\n"
    reference = reference_vcl(lab)
    assert opening in reference, f"the course's VCL has no {sub}"
    return reference.replace(opening, f"{opening}    {line}\n")


def describe(name: str, result: dict) -> str:
    """Two lines: the load test's figures, then the cores wrk, the busier containers and the rest used."""
    cores = result["cores"]
    containers = sorted(((share, key) for key, share in cores.items() if key not in ("busy", "idle", "wrk")),
                        reverse=True)
    rest = cores["busy"] - cores["wrk"] - sum(share for share, _ in containers)
    where = ", ".join([f"wrk {cores['wrk']:.2f}", *(f"{key} {share:.2f}" for share, key in containers if share >= 0.02),
                       f"rest {rest:.2f}", f"idle {cores['idle']:.2f}"])
    return (f"{name:<44}{result['throughput_rps']:>9.0f} req/s  p95 {result['latency_ms']['p95']:>6.1f} ms  "
            f"{result['bytes'] / max(result['requests'], 1):>7.0f} B/resp  {result['failed']} failed\n"
            f"{'':<44}cores: {where}")


def main() -> None:
    ensure_image(find_engine())
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        lab = open_lab(f"bench-{uuid.uuid4().hex[:6]}", folder=Path(scratch))
        try:
            catch_up(lab, 2)
            cpu = CpuShares(lab)
            baseline = load_test(lab, "front-door-baseline", lab.instance("web1"), cpu)
            catch_up(lab, 10)
            varnish1, cpu = lab.instance("varnish1"), CpuShares(lab)
            page = home_page(varnish1)
            wire = requests.get(varnish1.url("/"), headers=WRK_HEADERS, timeout=10, stream=True).raw.read(
                decode_content=False)  # the bytes wrk receives: the stored gzip
            final = load_test(lab, "front-door-final", varnish1, cpu)
            with ceiling(varnish1, "ceiling_small", SMALL_BODY):
                small = load_test(lab, "front-door-ceiling", varnish1, cpu)
            with vcl_active(varnish1, "stored_plain", course_vcl_with(lab, "vcl_backend_response",
                                                                      "set beresp.do_gunzip = true;")):
                stored_plain = load_test(lab, "front-door-final-stored-plain", varnish1, cpu)
            assert home_page(varnish1).content == page.content, "varnish1 no longer serves the course's home page"
        finally:
            lab.down()
    header_bytes = sum(len(key) + len(value) + 4 for key, value in page.headers.items())
    print(f"home page through varnish1: {len(page.content)} B of HTML, sent as {len(wire)} B "
          f"({page.headers.get('Content-Encoding', 'identity')}) with {header_bytes} B of headers, "
          + ", ".join(f"{key}: {page.headers.get(key, '-')}" for key in ("Vary", "Cache-Control", "X-Cache")))
    print(describe("(a) final: home page through varnish1", final))
    print(describe("(a2) the same, the page stored uncompressed", stored_plain))
    print(describe("(b) ceiling: small synthetic page", small))
    print(describe("(c) baseline: web1 alone on SQLite", baseline))
    print(f"final / ceiling {final['throughput_rps'] / small['throughput_rps']:.2f} (issue goal >= 0.8), "
          f"final / baseline {final['throughput_rps'] / baseline['throughput_rps']:.1f}x")


if __name__ == "__main__":
    main()
