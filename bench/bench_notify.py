"""The notification figures of `make bench` (bench.py --only notify):

1. Delivery rate: a backlog of N resolved incidents (one committed UPDATE, so N outbox
   rows) drained by one triage-notifier (TRIAGE_NOTIFIER_WORKERS threads) into a local
   webhook receiver answering 200: deliveries/s from the first to the last receipt.
2. Latency: incidents resolved one by one through the API at a fixed rate while the
   notifier runs; change committed (the outbox row's created_at, the transaction's
   start: an over-estimate by the commit's own duration) -> the receiver got it
   (receiver's wall clock, same host), p50/p99.
The receiver is Python's http.server (tests/harness/receiver.py): at high rates it is
part of what is measured."""

import json
import time

from harness import Receiver, wait_for


def _setup(stack, receiver, workers):
    stack.start_store()
    stack.start_gateway()
    stack.wait_ready()
    r = stack.request("POST", "/channels", {"name": "bench", "kind": "webhook",
                                            "url": receiver.url, "secret": "bench-secret",
                                            "events": ["resolved"]})
    assert r.status == 201, r
    return {"TRIAGE_NOTIFIER_WORKERS": str(workers), "TRIAGE_LOG_LEVEL": "warn"}


def _incidents(stack, n):
    """n submitted incidents, inserted in one statement (ingest is not measured here)."""
    stack.sql("INSERT INTO incidents (request_id, title, description, fingerprint) "
              f"SELECT 'bench-' || g, 'bench ' || g, 'notification benchmark', 'fp' || g "
              f"FROM generate_series(1, {n}) g")
    return [int(r[0]) for r in stack.sql("SELECT id FROM incidents ORDER BY id")]


def delivery_rate(stack, loadavg, backlog=5000, workers=4):
    receiver = Receiver()
    try:
        env = _setup(stack, receiver, workers)
        _incidents(stack, backlog)
        stack.sql("UPDATE incidents SET state = 'resolved', resolved_at = now()")
        assert stack.scalar("SELECT count(*) FROM notification_outbox") == str(backlog)
        load = loadavg()
        t0 = time.monotonic()
        stack.start_notifier("notifier", env=env)
        wait_for(lambda: len(receiver.requests) >= backlog, 600, "the backlog delivered")
        got = receiver.got()
        span = got[-1]["at"] - got[0]["at"]
        sent = int(stack.scalar("SELECT count(*) FROM notification_outbox WHERE state = 'sent'"))
        dup = len(got) - len({g["headers"]["x-triage-delivery"] for g in got})
        res = {"backlog": backlog, "workers": workers, "received": len(got), "duplicates": dup,
               "rate_per_s": round((len(got) - 1) / span, 1) if span > 0 else None,
               "wall_s": round(time.monotonic() - t0, 2), "rows_sent": sent,
               "loadavg_before": load}
        print(json.dumps({"notify_rate": res}), flush=True)
        return res
    finally:
        receiver.close()


def latency(stack, loadavg, rate=100, seconds=10, workers=4):
    receiver = Receiver()
    try:
        env = _setup(stack, receiver, workers)
        env["TRIAGE_NOTIFY_POLL_MS"] = "200"
        ids = _incidents(stack, rate * seconds)
        stack.start_notifier("notifier", env=env)
        load = loadavg()
        start = time.monotonic()
        for i, iid in enumerate(ids):
            # pacing a load generator, not synchronising a test
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            r = stack.request("POST", f"/incidents/{iid}/resolve")
            assert r.status == 200, r
        offered = len(ids) / (time.monotonic() - start)
        wait_for(lambda: len(receiver.requests) >= len(ids), 120, "every notification")
        # receiver times are monotonic; map them to wall time once
        mono_to_wall = time.time() - time.monotonic()
        got = {int(g["headers"]["x-triage-delivery"]): g["at"] + mono_to_wall
               for g in receiver.got()}
        rows = stack.sql("SELECT id, extract(epoch FROM created_at) FROM notification_outbox")
        ms = sorted((got[int(i)] - float(c)) * 1000 for i, c in rows)
        pct = lambda p: round(ms[min(len(ms) - 1, int(p * len(ms)))], 1)
        res = {"offered_per_s": round(offered, 1), "notifications": len(ms),
               "poll_ms": 200, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(ms[-1], 1),
               "loadavg_before": load}
        print(json.dumps({"notify_latency": res}), flush=True)
        return res
    finally:
        receiver.close()
