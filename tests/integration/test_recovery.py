"""Recovery in seconds, not leases (issue 11): after an enricher, the store or
PostgreSQL dies with jobs in flight, every incident reaches a final status within the
recovery target of the replacement being up, and no LLM call is paid for twice."""

import os
import time
import unittest

from harness import PipelineTest, wait_for

# The target is 10 s; asserted with margin for a loaded 2-core machine. The
# measured figure is printed.
RECOVERY_LIMIT_S = float(os.environ.get("TRIAGE_TEST_RECOVERY_LIMIT_S", "20"))


class RecoveryBase(PipelineTest):
    """Helpers shared with test_exact_dispatch (no tests of its own)."""

    def start(self, slots=2, delay_ms=3000):
        # the lease stays at its default (180 s): recovery must not wait for it
        self.fake = self.stack.start_fakellm()
        self.fake.control(mode="slow", delay_ms=delay_ms)
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.stack.start_enricher("enricher1", llm=self.fake,
                                  env={"TRIAGE_ENRICHER_SLOTS": str(slots)})

    def calls(self):
        return self.fake.stats()["requests"]["/api/chat"]

    def in_flight(self, ids):
        for i in ids:
            self.stack.wait_status(i, "processing")
        wait_for(lambda: self.fake.stats()["in_flight"] == len(ids), 30,
                 f"{len(ids)} LLM calls in flight")

    def wait_final(self, ids, since, what):
        for i in ids:
            self.stack.wait_status(i, ("triaged", "failed"), timeout=60)
        took = time.monotonic() - since
        print(f"\n{what}: {len(ids)} in-flight incidents final {took:.1f} s after the "
              "replacement was up", flush=True)
        self.assertLess(took, RECOVERY_LIMIT_S, what)
        for i in ids:
            self.assertEqual(self.stack.incident(i)["status"], "triaged", i)
        return took

    def socket_waits_ms(self, ids):
        """Per incident, the time its last job spent between dispatch and the result
        being applied, less the LLM call itself: a job waiting in a busy enricher's
        socket would add a whole call."""
        return [float(r[0]) for r in self.stack.sql(
            "SELECT extract(epoch FROM i.triaged_at - d.at) * 1000 - i.latency_ms"
            " FROM incidents i JOIN LATERAL (SELECT at FROM incident_events e"
            " WHERE e.incident_id = i.id AND e.kind = 'dispatched' ORDER BY e.id DESC LIMIT 1)"
            " d ON true WHERE i.id IN (%s)" % ",".join(map(str, ids)))]



class RecoveryTest(RecoveryBase):
    def test_enricher_killed_mid_job(self):
        self.start()
        ids = [self.stack.submit(title=f"enricher dies {i}")["id"] for i in range(2)]
        self.in_flight(ids)
        self.stack.kill("enricher1")
        self.fake.control(mode="ok")
        self.stack.start_enricher("enricher1", llm=self.fake,
                                  env={"TRIAGE_ENRICHER_SLOTS": "2"})
        self.wait_final(ids, time.monotonic(), "enricher killed")
        for i in ids:
            reasons = [e.get("detail", {}).get("reason") for e in self.stack.incident(i)["timeline"]
                       if e["kind"] == "lease_expired"]
            self.assertEqual(reasons, ["enricher_lost"], i)

    def test_store_killed_with_calls_in_flight(self):
        self.start()
        ids = [self.stack.submit(title=f"store dies {i}")["id"] for i in range(2)]
        self.in_flight(ids)
        self.stack.kill("store")
        # the enricher finishes both calls while the store is away: results kept
        wait_for(lambda: self.fake.stats()["in_flight"] == 0, 30, "the calls to finish")
        self.stack.start_store()
        self.stack.wait_ready()  # a store starting under load may take over 3 s
        t0 = time.monotonic()
        self.wait_final(ids, t0, "store killed")
        self.assertEqual(self.calls(), 2)  # nothing paid for twice

    def test_postgresql_restarted_with_calls_in_flight(self):
        self.start()
        ids = [self.stack.submit(title=f"postgres restarts {i}")["id"] for i in range(2)]
        self.in_flight(ids)
        self.pg.stop()
        try:
            wait_for(lambda: self.fake.stats()["in_flight"] == 0, 30, "the calls to finish")
        finally:
            self.pg.start()
        t0 = time.monotonic()
        self.wait_final(ids, t0, "PostgreSQL restarted")
        self.assertEqual(self.calls(), 2)


if __name__ == "__main__":
    unittest.main()
