"""sql/006_faults.sql upgrades a populated database in place: the migrations below it
applied and used, then 006 by a restarted store; old rows keep working (a job in flight
from before has no lease token and its result still applies)."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN_DIR, PipelineTest, wait_for


class Migrate006Test(PipelineTest):
    def test_upgrade_in_place(self):
        src = self.stack.env["TRIAGE_SQL_DIR"]
        older = tempfile.mkdtemp(prefix="sql-before-006-")
        self.addCleanup(shutil.rmtree, older, True)
        for f in os.listdir(src):
            if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < 6:
                shutil.copy(os.path.join(src, f), older)
        store = self.stack.start_store(env={"TRIAGE_SQL_DIR": older})
        wait_for(lambda: "ready:" in store.text() or not store.alive(), 30, "the old schema")
        self.stack.stop("store")
        self.assertEqual(self.stack.scalar("SELECT max(version) FROM schema_migrations"),
                         str(max(int(f[:3]) for f in os.listdir(older))))
        # rows as the code before 006 wrote them
        ids = [int(r[0]) for r in self.stack.sql(
            "INSERT INTO incidents (request_id, title, description, fingerprint)"
            " SELECT 'old-' || g, 'before 006 ' || g, 'x', md5(g::text)"
            " FROM generate_series(0, 2) g RETURNING id")]
        self.stack.sql("INSERT INTO incident_events (incident_id, kind, status, attempt, actor)"
                       " SELECT id, 'created', 'submitted', 0, 'api' FROM incidents")
        # one was dispatched by the old code: processing, attempt 1, no token
        self.stack.sql("UPDATE incidents SET status = 'processing', attempt = 1,"
                       " lease_deadline = now() + interval '1 hour' WHERE id = %d" % ids[0])

        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM schema_migrations WHERE version = 6"), "1")
        for i in ids:
            self.assertEqual(self.stack.incident(i)["title"], f"before 006 {ids.index(i)}")
        self.assertIsNone(self.stack.scalar(
            "SELECT lease_token FROM incidents WHERE id = %d" % ids[0]))
        # the old job's result is applied (no token to match), and it is not reclaimed
        subprocess.run([os.path.join(BIN_DIR, "triage-probe"), "result",
                        self.stack.env["TRIAGE_RESULTS_URL"], str(ids[0]), "1", "triaged",
                        "high", "storage", "from before the upgrade"], check=True, timeout=30)
        done = self.stack.wait_status(ids[0], "triaged")
        self.assertEqual(done["triage"]["summary"], "from before the upgrade")
        # new submits work, and get retry keys
        inc = self.stack.submit(title="after 006")
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incident_retry_keys WHERE incident_id = %d" % inc["id"]), "1")


if __name__ == "__main__":
    unittest.main()
