"""What a 202 promises when things die: SIGKILL of the store, PostgreSQL stopped and
started again. Nothing acknowledged is lost and nothing is half-written."""

import threading
import time
import unittest

from harness import PipelineTest, wait_for


class ResilienceTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway(env={"TRIAGE_STORE_TIMEOUT_MS": "1500"})
        self.stack.wait_ready()

    def post(self, title):
        return self.stack.request("POST", "/incidents", {"title": title, "description": "x"},
                                  timeout=15)

    def assert_whole(self, accepted_ids):
        """Every acknowledged id is stored, and every stored row is whole."""
        if accepted_ids:
            stored = {int(r[0]) for r in self.stack.sql(
                "SELECT id FROM incidents WHERE id IN (%s)" % ",".join(map(str, accepted_ids)))}
            self.assertEqual(stored, set(accepted_ids))
        broken = self.stack.sql(
            "SELECT i.id FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM incident_events e "
            "WHERE e.incident_id = i.id AND e.kind = 'created')")
        self.assertEqual(broken, [])

    def test_store_sigkill_under_load(self):
        accepted, statuses, stop = [], [], threading.Event()
        lock = threading.Lock()

        def client(n):
            i = 0
            while not stop.is_set():
                r = self.post(f"load {n}-{i}")
                i += 1
                with lock:
                    statuses.append(r.status)
                    if r.status == 202:
                        accepted.append(r.json["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        wait_for(lambda: len(accepted) >= 50, 30, "50 acknowledged submits before the kill")
        self.stack.kill("store")
        # With the store gone, requests answer 503 within the store timeout.
        wait_for(lambda: statuses.count(503) >= 8, 30, "503s after the store died")
        stop.set()
        for t in threads:
            t.join(30)
        self.assertTrue(set(statuses) <= {202, 503}, set(statuses))
        t0 = time.monotonic()
        r = self.post("while down")
        self.assertEqual(r.status, 503, r)
        self.assertIsNotNone(r.header("Retry-After"))
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assert_whole(accepted)

        self.stack.start_store()
        wait_for(lambda: self.post("after restart").status == 202, 30,
                 "202s after the store restarted")
        self.assert_whole(accepted)

    def test_postgres_stopped_then_started(self):
        self.assertEqual(self.post("before").status, 202)
        self.pg.stop("fast")
        try:
            r = self.post("during")
            self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(r.header("Retry-After"))
            self.assertEqual(self.stack.request("GET", "/readyz", key=False).status, 503)
        finally:
            self.pg.start()
        # The same store process recovers by itself.
        wait_for(lambda: self.post("after").status == 202, 30,
                 "the store to reconnect to PostgreSQL")
        self.assertEqual(self.stack.request("GET", "/readyz", key=False).status, 200)
        self.assertTrue(self.stack.procs["store"].alive())
        titles = sorted(r[0] for r in self.stack.sql("SELECT title FROM incidents"))
        self.assertIn("before", titles)
        self.assertIn("after", titles)
        self.assertNotIn("during", titles)
        self.assert_whole([])


if __name__ == "__main__":
    unittest.main()
