"""Exact dispatch (issue 8) and the internal plane (issue 11): no job waits in a busy
enricher's socket, even when a forged ready message claims thousands of slots or the
enricher restarts mid-job; a forged RESULT for the attempt in flight changes nothing and
the real result still applies."""

import os
import subprocess
import unittest

from harness import BIN_DIR, wait_for
from test_recovery import RecoveryBase
from test_store_internals import mp


class ExactDispatchTest(RecoveryBase):
    def test_forged_result_changes_nothing(self):
        self.start(slots=1, delay_ms=1500)
        iid = self.stack.submit(title="Payments database down for every customer")["id"]
        self.in_flight([iid])
        attempt = self.stack.incident(iid)["attempt"]
        subprocess.run([os.path.join(BIN_DIR, "triage-probe"), "result",
                        self.stack.env["TRIAGE_RESULTS_URL"], str(iid), str(attempt), "triaged",
                        "low", "other", "forged answer"], check=True, timeout=30)
        # refused: bound to the enricher, or (not yet bound) without the lease token
        wait_for(lambda: f"result of attempt {attempt} from probe"
                 in self.stack.procs["store"].text(), 20, "the forged result to be refused")
        done = self.stack.wait_status(iid, "triaged")  # the real result still applies
        self.assertEqual(done["triage"]["backend"], "ollama")
        self.assertNotIn("forged answer", str(done))

    def test_exact_dispatch_despite_a_forged_ready_message(self):
        self.start(slots=1, delay_ms=1500)
        first = self.stack.submit(title="exact first")["id"]
        self.stack.wait_status(first, "triaged")
        forged = mp([1, 6, {"enricher_id": "forger", "backend": "rules", "slots": 4000,
                            "busy": 0}]).hex()
        subprocess.run([os.path.join(BIN_DIR, "triage-probe"), "raw", "push",
                        self.stack.env["TRIAGE_RESULTS_URL"], forged], check=True, timeout=30)
        ids = [self.stack.submit(title=f"exact {i}")["id"] for i in range(4)]
        for i in ids:
            self.stack.wait_status(i, "triaged", timeout=60)
        waits = self.socket_waits_ms(ids)
        print(f"\nforged ready message: socket waits (ms) {sorted(round(w) for w in waits)}",
              flush=True)
        self.assertLess(max(waits), 750, waits)  # none waited for a call to end
        self.assertEqual(self.calls(), 5)

    def test_exact_dispatch_through_enricher_restart(self):
        self.start(slots=2, delay_ms=1500)
        ids = [self.stack.submit(title=f"restart {i}")["id"] for i in range(8)]
        wait_for(lambda: self.fake.stats()["in_flight"] == 2, 30, "two calls in flight")
        self.stack.kill("enricher1")
        self.stack.start_enricher("enricher1", llm=self.fake,
                                  env={"TRIAGE_ENRICHER_SLOTS": "2"})
        for i in ids:
            self.stack.wait_status(i, "triaged", timeout=90)
        waits = self.socket_waits_ms(ids)
        print(f"\nenricher restart: socket waits (ms) {sorted(round(w) for w in waits)}",
              flush=True)
        self.assertLess(max(waits), 750, waits)
        # the two killed calls were made again; nothing else twice
        self.assertLessEqual(self.calls(), 8 + 2)
        for i in ids:
            dispatched = [e for e in self.stack.incident(i)["timeline"] if e["kind"] == "dispatched"]
            self.assertLessEqual(len(dispatched), 2, i)


if __name__ == "__main__":
    unittest.main()
