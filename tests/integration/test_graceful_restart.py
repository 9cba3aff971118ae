"""Graceful restarts lose no work: under steady submissions through two gateways, each
service in turn (an enricher, a gateway, the store) is stopped with SIGTERM, exits 0,
and is started again. Every acknowledged incident is stored and ends triaged."""

import unittest

from harness import PipelineTest, SubmitLoad, free_port, wait_for


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

        # a gateway that is restarting refuses the connection: nothing was acknowledged
        load = SubmitLoad(ports, s.key, "restart load", "disk at 100%").start()
        try:
            load.more(20)
            for name, start in (
                    ("enricher1", lambda: s.start_enricher("enricher1", llm="rules")),
                    ("gateway1", lambda: s.start_gateway(name="gateway1")),
                    ("store", lambda: s.start_store())):
                self.assertEqual(s.stop(name), 0, f"{name} did not exit cleanly on SIGTERM")
                start()
                s.wait_ready()
                load.more(20)
        finally:
            load.finish()
        answers, accepted = load.answers, load.accepted
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
