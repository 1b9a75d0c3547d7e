"""Sample records, as the helpers would have saved them, for tests that need one."""

from workshop.records import CrashDrill, FailoverDrill, Latency, LoadProfile, LoadTest, new_run


def load_test(stack: str = "s1", stage: str = "02-baseline", throughput_rps: float = 500.0, **changes) -> LoadTest:
    """A 15 s run whose numbers add up (requests = throughput x duration, unless `changes` say otherwise)."""
    return LoadTest(**{
        **new_run(), "stack": stack, "stage": stage, "target": "web1", "url": "http://127.0.0.1:8080/",
        "profile": LoadProfile("baseline", threads=2, connections=32, duration_s=15),
        "requests": round(throughput_rps * 15), "failed": 0,
        "non_2xx_3xx": 0, "socket_errors": 0, "duration_s": 15.0, "bytes": 9_000_000,
        "latency_ms": Latency(p50=40.0, p90=70.0, p95=80.0, p99=120.0, max=300.0, mean=45.0),
        "throughput_rps": throughput_rps, "error_rate": 0.0, "finished_at": 1_800_000_015.0, **changes})


def crash_drill(stack: str = "s1", victim: str = "web1", **changes) -> CrashDrill:
    return CrashDrill(**{
        **new_run(), "stack": stack, "victim": victim, "through": "lb1", "requests": 300, "failed": 0,
        "killed_after": 60, "max_latency_s": 1.02, "served_by_after_kill": ["web2"], "recovery_s": 3.1,
        "finished_at": 1_800_000_020.0, **changes})


def failover_drill(stack: str = "s1", victim: str = "db1", **changes) -> FailoverDrill:
    run = new_run()
    prefix = f"failover-{run['run_id']}-"
    return FailoverDrill(**{
        **run, "stack": stack, "victim": victim, "survivor": "db2", "through": "lb1", "marker_prefix": prefix,
        "requests": 300, "killed_after": 100, "killed_at_s": 2.1, "acknowledged": 2,
        "acknowledged_markers": [f"{prefix}0000", f"{prefix}0001"], "acknowledged_after_kill": 150, "failed": 3,
        "timed_out_before_kill": 0, "unavailable_s": 0.42, "survivor_promoted": True, "lost": 0, "lost_markers": [],
        "finished_at": 1_800_000_030.0, **changes})
