"""Graceful restarts lose no work: under steady submissions through two gateways, each
service in turn (an enricher, a gateway, the store) is stopped with SIGTERM, exits 0,
and is started again. Every acknowledged incident is stored and ends triaged."""

import threading
import unittest

from harness import PipelineTest, free_port, http_request, wait_for


class GracefulRestartTest(PipelineTest):
    def test_rolling_restart_under_load(self):
        s = self.stack
        ports = [s.http_port, free_port()]
        s.start_store()
        s.start_gateway(name="gateway1")
        s.start_gateway(name="gateway2", env={"TRIAGE_HTTP_PORT": str(ports[1])})
        s.wait_ready()
        for e in ("enricher1", "enricher2"):
            s.start_enricher(e, llm="rules")

        accepted, answers, stop = [], [], threading.Event()
        lock = threading.Lock()

        def client(n):
            i = 0
            while not stop.is_set():
                port = ports[(n + i) % 2]
                i += 1
                try:
                    r = http_request(port, "POST", "/incidents",
                                     {"title": f"restart load {n}-{i}", "description": "disk at 100%"},
                                     {"X-API-KEY": s.key}, timeout=15)
                except OSError:
                    continue  # that gateway is restarting: nothing was acknowledged
                with lock:
                    answers.append(r.status)
                    if r.status == 202:
                        accepted.append(r.json["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        try:
            def more(n):
                with lock:
                    target = len(accepted) + n
                wait_for(lambda: len(accepted) >= target, 60, f"{n} more acknowledged submits")

            more(20)
            for name, start in (
                    ("enricher1", lambda: s.start_enricher("enricher1", llm="rules")),
                    ("gateway1", lambda: s.start_gateway(name="gateway1")),
                    ("store", lambda: s.start_store())):
                self.assertEqual(s.stop(name), 0, f"{name} did not exit cleanly on SIGTERM")
                start()
                s.wait_ready()
                more(20)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertTrue(set(answers) <= {202, 503}, set(answers))
        ids = sorted(set(accepted))
        stored = {int(r[0]) for r in s.sql(
            "SELECT id FROM incidents WHERE id IN (%s)" % ",".join(map(str, ids)))}
        self.assertEqual(stored, set(ids), "acknowledged incidents missing")

        def settled():
            rows = s.sql("SELECT status, count(*) FROM incidents GROUP BY 1")
            counts = {r[0]: int(r[1]) for r in rows}
            return counts if set(counts) == {"triaged"} else None
        counts = wait_for(settled, 60, "every incident triaged after the restarts")
        self.assertGreaterEqual(counts["triaged"], len(ids))


if __name__ == "__main__":
    unittest.main()
