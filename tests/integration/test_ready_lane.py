"""/readyz does not wait behind slow queries: with every reader stuck on a locked table
(and more queries queued behind them), the store still answers READY on its own lane,
and /readyz says 200 at once. A load balancer must not pull a busy gateway."""

import subprocess
import threading
import time
import unittest

from harness import PipelineTest, wait_for


class ReadyLaneTest(PipelineTest):
    def test_readyz_is_not_queued_behind_searches(self):
        s = self.stack
        # one reader, and a search may wait 20 s (its deadline, the gateway's store
        # timeout, and the store's statement limit): one stuck on the lock holds the
        # only reader for as long as the lock is held. The gateway waits 5 s for READY
        # (not 1 s): on a loaded machine, READY's own work can take a second.
        s.start_store(env={"TRIAGE_READERS": "1", "TRIAGE_DB_TIMEOUT_MS": "20000"})
        s.start_gateway(env={"TRIAGE_READY_TIMEOUT_MS": "5000",
                             "TRIAGE_STORE_TIMEOUT_MS": "20000"})
        s.wait_ready()
        s.submit(title="before the lock")

        # another session holds the incidents table: every list query waits on it
        locker = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-d", s.db_url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(locker.kill)
        locker.stdin.write("BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE;"
                           " SELECT 'locked';\n")
        locker.stdin.flush()
        self.assertEqual(locker.stdout.readline().strip(), "locked")

        answers = []
        def search():
            answers.append(s.request("GET", "/incidents?limit=5").status)
        threads = [threading.Thread(target=search) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: int(s.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                f" AND datname = '{s.database}'")) >= 1, 10, "a reader waiting on the lock")
            started = time.monotonic()
            r = s.request("GET", "/readyz", key=False)
            took = time.monotonic() - started
            # queued behind the searches, READY would wait for the lock: 503 after 5 s
            self.assertEqual(r.status, 200, r.body)
            print(f"/readyz answered in {took * 1000:.0f} ms with every reader stuck",
                  flush=True)
            self.assertEqual(answers, [], "a search finished while the table was locked")
        finally:
            locker.stdin.write("ROLLBACK;\n")
            locker.stdin.close()
            locker.wait(10)
            for t in threads:
                t.join(30)
        self.assertEqual(len(answers), 3)
        self.assertTrue(set(answers) <= {200, 503}, answers)


if __name__ == "__main__":
    unittest.main()
