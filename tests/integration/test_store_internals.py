"""The store's own promises, checked below the HTTP layer where needed: one JSON shape
for an incident, duplicates inside one group-commit batch, REQ resends, malformed
messages dropped, migrations applied once even with two stores starting together,
late results ignored, pipeline figures."""

import json
import os
import signal
import struct
import subprocess
import threading
import time
import unittest

from harness import BIN_DIR, PipelineTest, wait_for

PROBE = os.path.join(BIN_DIR, "triage-probe")


def mp(v):
    """A minimal msgpack encoder (str, bytes, int, bool, None, list, dict): enough for tests."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, (str, bytes)):  # bytes: a str of exactly these bytes
        b = v.encode() if isinstance(v, str) else v
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def submit_msg(request_id, title, version=1):
    return mp([version, 1, {"request_id": request_id, "title": title,
                            "description": "sent raw"}]).hex()


class StoreTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def probe(self, *args):
        r = subprocess.run([PROBE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        return r.stdout.split()

    def test_submit_reply_has_the_shape_of_get(self):
        body = {"title": "Ünïcode \"quoted\" title", "description": "line1\nline2\t\\ end",
                "source": "curl", "labels": {"env": "prod", "k\"ey": "v\u0001"},
                "dedup_key": "shape-1"}
        posted = self.stack.submit(**body)
        got = self.stack.incident(posted["id"])
        del got["timeline"]
        self.assertEqual(list(posted.keys()), list(got.keys()))
        self.assertEqual(posted, got)

    def test_same_idempotency_key_and_dedup_key_in_one_batch(self):
        n, lock = 40, threading.Lock()
        same_key, same_dedup = [], []

        def post(headers, body, out):
            r = self.stack.request("POST", "/incidents", body, headers=headers)
            with lock:
                out.append(r)

        threads = [threading.Thread(target=post, args=(
            {"Idempotency-Key": "burst-key"}, {"title": "same key", "description": ""}, same_key))
            for _ in range(n)]
        threads += [threading.Thread(target=post, args=(
            {}, {"title": "same dedup", "description": "", "dedup_key": "burst-dedup"},
            same_dedup)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([r.status for r in same_key + same_dedup], [202] * (2 * n))
        self.assertEqual(len({r.json["id"] for r in same_key}), 1)
        self.assertEqual(len({r.json["id"] for r in same_dedup}), 1)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE title = 'same key'"), "1")
        self.assertEqual(self.stack.scalar(
            "SELECT occurrence_count FROM incidents WHERE dedup_key = 'burst-dedup'"), str(n))
        self.assertEqual(sum(1 for r in same_dedup if r.json.get("deduplicated")), n - 1)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
            " WHERE i.dedup_key = 'burst-dedup' AND e.kind = 'created'"), "1")

    def test_req_resend_creates_nothing_new(self):
        url = self.stack.env["TRIAGE_STORE_URL"]
        msg = submit_msg("probe-resend-1", "resent")
        self.assertEqual(self.probe("raw", "req", url, msg, msg, msg), ["reply"] * 3)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE request_id = 'probe-resend-1'"), "1")

    def test_malformed_messages_are_dropped_and_the_store_keeps_serving(self):
        url = self.stack.env["TRIAGE_STORE_URL"]
        garbage = [
            "00",                                   # not an array
            "ffffffff",                             # garbage
            mp([9, 1, {"request_id": "x"}]).hex(),  # wrong version
            mp([1, 42, {}]).hex(),                  # unknown type
            mp([1, 1, {"request_id": "x"}]).hex(),  # submit without title
            "dd7fffffff",                           # array header claiming 2^31 items
            mp([1, 5, {}]).hex(),                   # a result on the request socket
        ]
        self.assertEqual(self.probe("raw", "req", url, *garbage), ["no-reply"] * len(garbage))
        self.assertTrue(self.stack.procs["store"].alive())
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "0")
        self.stack.submit(title="still serving")
        log = self.stack.procs["store"].text()
        self.assertIn("dropped", log)

    def test_migrations_applied_once_with_two_stores_starting_together(self):
        self.stack.stop("store")
        other = {k: v.replace("store.ipc", "store2.ipc").replace("events.ipc", "events2.ipc")
                 .replace("jobs.ipc", "jobs2.ipc").replace("results.ipc", "results2.ipc")
                 for k, v in self.stack.env.items() if k.endswith("_URL") and "ipc" in v}
        fresh = self.stack.database + "_fresh"
        url = self.pg.create_database(fresh)
        other["TRIAGE_DATABASE_URL"] = url
        a = self.stack.start_store(name="store_a", env={"TRIAGE_DATABASE_URL": url})
        b = self.stack.start_store(name="store_b", env=other)
        for p in (a, b):
            wait_for(lambda p=p: "ready:" in p.text() or not p.alive(), 30, f"{p.name} ready")
            self.assertTrue(p.alive(), p.text()[-2000:])
        versions = [r[0] for r in self.pg.psql(
            "SELECT version FROM schema_migrations ORDER BY version", db=fresh)]
        files = sorted(f for f in os.listdir(self.stack.env["TRIAGE_SQL_DIR"])
                       if f.endswith(".sql") and f[:3].isdigit())
        self.assertEqual(versions, [str(int(f[:3])) for f in files])
        self.stack.wait_ready()
        self.stack.submit(title="after a concurrent start")

    def test_late_and_duplicate_results_are_ignored(self):
        inc = self.stack.submit(title="nobody triages me")
        results = self.stack.env["TRIAGE_RESULTS_URL"]
        # Not processing: a result for any attempt changes nothing.
        self.probe("result", results, str(inc["id"]), "1", "triaged", "low", "other", "late")
        wait_for(lambda: "ignored" in self.stack.procs["store"].text(), 10,
                 "the store to log the ignored result")
        got = self.stack.incident(inc["id"])
        self.assertEqual((got["status"], got["version"], got["triage"]),
                         ("submitted", 1, None))

    def test_stats_and_settings(self):
        self.stack.submit()
        r = self.stack.request("GET", "/stats")
        self.assertEqual(r.status, 200, r)
        s = r.json
        self.assertEqual(s["counts"], {"submitted": 1, "processing": 0, "triaged": 0,
                                       "failed": 0})
        self.assertEqual(s["enrichers"], {"active": 0, "slots": 0, "busy": 0})
        self.assertEqual(s["model"], "phi3:mini")
        self.assertEqual(len(s["series"]), 24)
        self.assertEqual(s["series"][-1]["untriaged"], 1)
        self.assertEqual(s["failure_rate"], 0)
        r = self.stack.request("PUT", "/settings", {"model": "llama3.1:8b"})
        self.assertEqual((r.status, r.json["model"]), (200, "llama3.1:8b"))
        self.assertEqual(set(r.json), {"model", "review_threshold", "learned_model"})
        self.assertEqual(self.stack.request("GET", "/stats").json["model"], "llama3.1:8b")


    def test_job_nobody_takes_goes_back_and_is_triaged_later(self):
        """An enricher that dies leaves credits for a few seconds: jobs claimed then wait
        in the store's socket for the next enricher, or (when the socket refuses them)
        go straight back to submitted; none waits for its (long) lease."""
        self.stack.stop("store")
        self.stack.start_store(env={"TRIAGE_LEASE_MS": "600000"})
        self.stack.wait_ready()
        self.stack.start_enricher("doomed", llm="rules")
        wait_for(lambda: self.stack.request("GET", "/stats").json["enrichers"]["active"] == 1,
                 15, "the enricher's heartbeat")
        self.stack.kill("doomed")
        ids = [self.stack.submit(title=f"Database down {i}")["id"] for i in range(3)]
        # The dead enricher's credits let the store claim these; what the socket cannot
        # hand over goes back to submitted at once (timeline 'released').
        self.stack.start_enricher("rescuer", llm="rules")
        for iid in ids:
            self.stack.wait_status(iid, "triaged", timeout=30)  # far below the lease
        for iid in ids:
            inc = self.stack.incident(iid)
            kinds = [e["kind"] for e in inc["timeline"]]
            self.assertNotIn("lease_expired", kinds)
            # every dispatch has its own attempt number, released ones too (never reused)
            self.assertEqual(inc["attempt"], kinds.count("dispatched"))

    def test_every_change_is_published_in_sequence(self):
        self.stack.start_enricher("e1", llm="rules")
        wait_for(lambda: self.stack.request("GET", "/stats").json["enrichers"]["active"] == 1,
                 15, "the enricher's heartbeat")
        sub = subprocess.Popen([PROBE, "sub", self.stack.env["TRIAGE_EVENTS_URL"], "100",
                                "20000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        def stop_sub():
            sub.kill()
            sub.wait(10)
            sub.stdout.close()
        self.addCleanup(stop_sub)
        self.assertEqual(sub.stdout.readline().strip(), "subscribed")
        # nng SUB connects in the background: submit until the subscriber hears one
        first = self.stack.submit(title="warm-up")
        events = [json.loads(sub.stdout.readline())]  # the probe times out if none comes
        inc = self.stack.submit(title="Database down for all users")
        done = self.stack.wait_status(inc["id"], "triaged")
        r = self.stack.request("POST", f"/incidents/{inc['id']}/acknowledge")
        self.assertEqual(r.status, 200, r)
        while not (events[-1]["id"] == inc["id"] and events[-1]["kind"] == "acknowledged"):
            line = sub.stdout.readline()
            self.assertTrue(line, "the subscriber stopped before the acknowledged event")
            events.append(json.loads(line))
        mine = [e for e in events if e["id"] == inc["id"]]
        self.assertEqual([e["kind"] for e in mine],
                         ["created", "dispatched", "triaged", "acknowledged"])
        self.assertEqual([e["status"] for e in mine],
                         ["submitted", "processing", "triaged", "triaged"])
        self.assertEqual([e["version"] for e in mine], [1, 2, 3, 4])
        self.assertEqual(done["version"], 3)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))  # no gaps
        self.assertEqual(len({e["epoch"] for e in events}), 1)
        self.assertEqual(events[0]["id"], first["id"])

    def test_stats_after_triage(self):
        self.stack.start_enricher("e1", llm="rules")
        ids = [self.stack.submit(title=t, description=d)["id"] for t, d in (
            ("Database down", "Primary PostgreSQL is unreachable for all users"),
            ("Disk full", "Volume /var at 100% on prod"),
            ("Typo on the about page", "cosmetic"))]
        for iid in ids:
            self.stack.wait_status(iid, "triaged")
        s = self.stack.request("GET", "/stats").json
        self.assertEqual(s["counts"]["triaged"], 3)
        self.assertIsInstance(s["triage_latency_ms"]["p50"], (int, float))
        self.assertIsInstance(s["triage_latency_ms"]["p95"], (int, float))
        self.assertIn("rules", s["backends"])
        self.assertEqual(s["failure_rate"], 0)
        last = s["series"][-1]
        self.assertEqual(sum(last[k] for k in ("critical", "high", "medium", "low")), 3)
        self.assertEqual(last["untriaged"], 0)
        self.assertTrue(s["series"][-1]["t"].endswith(":00:00Z"))



class HungDatabaseTest(PipelineTest):
    """PostgreSQL that stops answering (every process of the cluster SIGSTOPped): the
    store answers 503 within its database timeout instead of hanging, stores nothing,
    and recovers by itself when PostgreSQL runs again."""

    def pg_signal(self, sig):
        with open(os.path.join(self.pg.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(postmaster)], stdout=subprocess.PIPE,
                                  text=True).stdout.split()
        for pid in [postmaster] + [int(c) for c in children]:
            os.kill(pid, sig)

    def test_hung_database_gives_503_then_recovers(self):
        self.stack.start_store(env={"TRIAGE_DB_TIMEOUT_MS": "1000"})
        self.stack.start_gateway(env={"TRIAGE_STORE_TIMEOUT_MS": "4000"})
        self.stack.wait_ready()
        self.stack.submit(title="before")
        self.pg_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = self.stack.request("POST", "/incidents", {"title": "during", "description": ""})
            elapsed = time.monotonic() - t0
            self.assertEqual(r.status, 503, r)
            self.assertIn("database", r.json["detail"])  # the store's answer, not a timeout
            self.assertLess(elapsed, 3.5)
            self.assertEqual(self.stack.request("GET", "/readyz", key=False).status, 503)
        finally:
            self.pg_signal(signal.SIGCONT)
        wait_for(lambda: self.stack.request("POST", "/incidents",
                                            {"title": "after", "description": ""}).status == 202,
                 30, "the store to work again")
        self.assertTrue(self.stack.procs["store"].alive())
        titles = sorted(r[0] for r in self.stack.sql("SELECT title FROM incidents"))
        self.assertIn("before", titles)
        self.assertIn("after", titles)
        self.assertNotIn("during", titles)


if __name__ == "__main__":
    unittest.main()
