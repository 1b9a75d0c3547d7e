-- wrk script of the course's load tests: names the load in the servers' access
-- logs (User-Agent: stage, run id and whether catch-up ran it, made by
-- workshop/records.py's loadtest_agent), asks for gzip as every browser does (without it,
-- Varnish would inflate its stored gzip for every request: work no visitor causes) and
-- prints one JSON line of results when the run ends.
wrk.headers["User-Agent"] = os.getenv("WORKSHOP_LOADTEST_AGENT") or "workshop-loadtest/unnamed"
wrk.headers["Accept-Encoding"] = "gzip"

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.timeout + errors.status
  io.write(string.format(
    'WORKSHOP-RESULT {"requests": %d, "failed": %d, "non_2xx_3xx": %d, "socket_errors": %d, ' ..
    '"duration_s": %.3f, "bytes": %d, "latency_ms": {"p50": %.3f, "p90": %.3f, "p95": %.3f, "p99": %.3f, ' ..
    '"max": %.3f, "mean": %.3f}}\n',
    summary.requests, failed, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3))
end
