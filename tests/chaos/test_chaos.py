"""Chaos (ctest label `chaos`): steady submissions while the store, an enricher (mid-job)
and the gateway are killed and PostgreSQL is restarted, and the LLM server is slow, busy,
wrong and down. Judged from the load generator's own record: every 202 is in the
database, no retried request made a duplicate, no 503'd submit is stored without its
retry landing on it, every incident in flight at a crash is final within the recovery
target, and no process printed a sanitizer report (Stack.close)."""

import http.client
import os
import threading
import time
import unittest

from harness import DEV_KEY, PipelineTest, wait_for
from harness.util import http_request

# The target is 10 s; asserted with margin for a loaded 2-core machine (and the
# sanitizer build). The measured figures are printed.
RECOVERY_LIMIT_S = float(os.environ.get("TRIAGE_TEST_RECOVERY_LIMIT_S", "25"))
STORE_TIMEOUT_MS = 2000
CLIENTS = 4
PACE_S = 0.8  # per client: about 4 submits/s, below the slow LLM's 4 slots / 0.8 s


class LoadGenerator:
    """Clients sending distinct incidents without an Idempotency-Key, as Alertmanager
    does, and retrying the same body until it is accepted: at once after a 503 or a
    refused connection (nothing was sent), after the gateway's store timeout when the
    connection died with the request in flight (its outcome is unknown until then)."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent = 0         # HTTP requests that reached a gateway or failed in flight
        self.acked = {}       # title -> incident id (202)
        self.refused = set()  # titles answered 503 at least once
        self.unknown = set()  # titles whose connection died with the request in flight
        self.pending = set()  # titles not yet accepted
        self.n503 = 0         # attempts answered 503
        self.nrefused = 0     # attempts refused (no gateway listening)
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def send(self, body):
        """One attempt: 'ok' (202, id), 'retry' (503/refused), 'unknown'."""
        try:
            r = http_request(self.port, "POST", "/incidents", body,
                             {"X-API-KEY": DEV_KEY}, timeout=10)
        except ConnectionRefusedError:
            return "refused", None
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.sent += 1
            return "unknown", None
        with self.lock:
            self.sent += 1
        if r.status == 202:
            return "ok", r.json["id"]
        if r.status == 503:
            return "503", None
        raise AssertionError(f"unexpected answer {r}")

    def client(self, n):
        i = 0
        while not self.stop.is_set():
            title = f"chaos {n}-{i}"
            i += 1
            body = {"title": title, "description": "steady load under faults"}
            with self.lock:
                self.pending.add(title)
            give_up = time.monotonic() + 120
            while time.monotonic() < give_up:
                how, iid = self.send(body)
                if how == "ok":
                    with self.lock:
                        self.acked[title] = iid
                        self.pending.discard(title)
                    break
                with self.lock:
                    if how == "503":
                        self.refused.add(title)
                        self.n503 += 1
                    elif how == "refused":
                        self.nrefused += 1
                    elif how == "unknown":
                        self.unknown.add(title)
                time.sleep(STORE_TIMEOUT_MS / 1000 + 0.5 if how == "unknown" else 0.2)
            time.sleep(PACE_S)  # pacing: a steady rate, not synchronisation


class ChaosTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.fake = self.stack.start_fakellm()
        self.store_env = {"TRIAGE_RETRY_BACKOFF_MS": "200", "TRIAGE_RETRY_BACKOFF_MAX_MS": "1000"}
        self.gw_env = {"TRIAGE_STORE_TIMEOUT_MS": str(STORE_TIMEOUT_MS)}
        self.enr_env = {"TRIAGE_ENRICHER_SLOTS": "2", "TRIAGE_BUSY_BACKOFF_MS": "50",
                        "TRIAGE_LLM_TIMEOUT_MS": "5000"}
        self.stack.start_store(env=self.store_env)
        self.stack.start_gateway(env=self.gw_env)
        self.stack.wait_ready()
        for name in ("enricher1", "enricher2"):
            self.stack.start_enricher(name, llm=self.fake, env=self.enr_env)
        self.recoveries = []

    def in_flight(self, statuses="'processing'"):
        return [int(r[0]) for r in self.stack.sql(
            f"SELECT id FROM incidents WHERE status IN ({statuses})")]

    def more_acks(self, load, n=12):
        want = load.acked_count() + n
        wait_for(lambda: load.acked_count() >= want, 90, f"{n} more acknowledged submits")

    def recovered(self, what, ids, up_at):
        """Every incident in flight at the crash is final within the target."""
        def final():
            if not ids:
                return True
            rows = self.stack.sql("SELECT count(*) FROM incidents WHERE id IN (%s)"
                                  " AND status IN ('triaged', 'failed')" % ",".join(map(str, ids)))
            return int(rows[0][0]) == len(ids)
        wait_for(final, 120, f"the incidents in flight at '{what}' to be final")
        took = time.monotonic() - up_at
        self.recoveries.append((what, len(ids), took))
        self.assertLess(took, RECOVERY_LIMIT_S, f"{what}: {took:.1f} s")

    def seen(self, load, attr, n=2):
        """Waits until clients saw n more of load.<attr> (the fault is felt)."""
        want = getattr(load, attr) + n
        wait_for(lambda: getattr(load, attr) >= want, 60, f"{n} more {attr}")

    def crash(self, what, name, restart, load=None, felt=None):
        ids = self.in_flight()
        self.stack.kill(name)
        if felt:
            self.seen(load, felt)
        restart()
        self.recovered(what, ids, time.monotonic())

    def test_chaos(self):
        load = LoadGenerator(self.stack.http_port)
        load.start()
        try:
            self.more_acks(load, 20)
            for mode in ({"mode": "slow", "delay_ms": 1500}, {"mode": "busy"},
                         {"mode": "wrong", "wrong_kind": "bad_enum"}, {"mode": "down"}):
                self.fake.control(**mode)
                self.more_acks(load)
            self.fake.control(mode="slow", delay_ms=800)
            wait_for(lambda: self.fake.stats()["in_flight"] > 0, 60, "an LLM call in flight")
            self.crash("enricher killed mid-job", "enricher1",
                       lambda: self.stack.start_enricher("enricher1", llm=self.fake,
                                                         env=self.enr_env))
            self.more_acks(load)
            self.crash("store killed", "store",
                       lambda: self.stack.start_store(env=self.store_env), load, "n503")
            self.more_acks(load)
            self.crash("gateway killed", "gateway",
                       lambda: self.stack.start_gateway(env=self.gw_env), load, "nrefused")
            self.more_acks(load)
            ids = self.in_flight()
            self.pg.stop()
            try:
                self.seen(load, "n503")
            finally:
                self.pg.start()
            self.recovered("PostgreSQL restarted", ids, time.monotonic())
            self.fake.control(mode="ok")
            self.more_acks(load)
        finally:
            load.finish()
        stopped = time.monotonic()
        self.assertEqual(load.pending, set(), "submits never accepted")
        wait_for(lambda: not self.in_flight("'submitted', 'processing'"), 120,
                 "every incident to be final")
        drain = time.monotonic() - stopped

        rows = self.stack.sql("SELECT title, id, status FROM incidents WHERE title LIKE 'chaos %'")
        by_title = {}
        for title, iid, status in rows:
            by_title.setdefault(title, []).append((int(iid), status))
        duplicates = {t: v for t, v in by_title.items() if len(v) > 1}
        lost = {t: i for t, i in load.acked.items() if t not in by_title}
        wrong = {t: i for t, i in load.acked.items()
                 if t in by_title and by_title[t][0][0] != i}
        stray = set(by_title) - set(load.acked)
        statuses = [v[0][1] for v in by_title.values()]
        print(f"\nchaos: sent {load.sent} / acknowledged {len(load.acked)} / 503 "
              f"{len(load.refused)} ({load.n503} answers; refused connections "
              f"{load.nrefused}; in-flight unknown {len(load.unknown)}) / in database "
              f"{len(by_title)} / triaged {statuses.count('triaged')} / failed "
              f"{statuses.count('failed')} / lost {len(lost)}", flush=True)
        for what, n, took in self.recoveries:
            print(f"chaos: {what}: {n} in flight, final {took:.1f} s after the replacement "
                  "was up", flush=True)
        print(f"chaos: drained {drain:.1f} s after the load stopped", flush=True)
        self.assertEqual(lost, {})
        self.assertEqual(duplicates, {})       # no retried request made a second incident
        self.assertEqual(wrong, {})            # every retry of a 503 landed on its incident
        self.assertEqual(stray, set())         # nothing stored that its client never got
        self.assertEqual(set(statuses) - {"triaged", "failed"}, set())


if __name__ == "__main__":
    unittest.main()
