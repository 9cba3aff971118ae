"""The counts /stats and /metrics show are kept with the writes (sql/014): after ingest,
triage, failures, re-triage, overrides, acknowledge, resolve and deletes, with folds in
between, they equal what a count over the table says; and migration 014 counts a
populated database from 013 in place."""

import os
import shutil
import tempfile
import unittest

from harness import PipelineTest, wait_for

TRUTH = """
SELECT d, v, count(*) FROM (
  SELECT 'status' AS d, status AS v FROM incidents
  UNION ALL SELECT 'severity', coalesce(severity_override, severity, 'none') FROM incidents
  UNION ALL SELECT 'category', coalesce(category_override, category, 'none') FROM incidents
  UNION ALL SELECT 'state', state FROM incidents) x GROUP BY 1, 2 ORDER BY 1, 2"""


class CountsTest(PipelineTest):
    def counted(self):
        return self.stack.sql("SELECT dim, value, n FROM incident_count_totals ORDER BY 1, 2")

    def assert_counts_true(self):
        truth = self.stack.sql(TRUTH)
        self.assertTrue(truth)
        self.assertEqual(self.counted(), truth)

    def test_counts_follow_every_write(self):
        s = self.stack
        s.start_store(env={"TRIAGE_MAX_ATTEMPTS": "1"})
        s.start_gateway()
        s.wait_ready()
        fake = s.start_fakellm()
        s.start_enricher("rules", llm="rules")
        ids = [s.submit(title=f"Disk full on db-{i}", description="/var at 100%")["id"]
               for i in range(30)]
        for i in ids:
            s.wait_status(i, "triaged")
        self.assert_counts_true()

        # failures: an enricher whose LLM is down, and the rules one stopped
        s.stop("rules")
        fake.control(mode="down")
        s.start_enricher("llm", llm=fake, env={"TRIAGE_LLM_FALLBACK": "fail"})
        failing = [s.submit(title=f"Checkout errors {i}")["id"] for i in range(5)]
        for i in failing:
            s.wait_status(i, "failed", timeout=60)
        self.assert_counts_true()

        # responders: acknowledge, override, resolve; a re-triage of a failed one
        for i in ids[:10]:
            self.assertEqual(s.request("POST", f"/incidents/{i}/acknowledge").status, 200)
        for i in ids[:5]:
            r = s.request("PATCH", f"/incidents/{i}", {"severity": "critical",
                                                         "category": "database"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(s.request("POST", f"/incidents/{i}/resolve").status, 200)
        s.stop("llm")
        s.start_enricher("rules2", llm="rules")
        self.assertEqual(s.request("POST", f"/incidents/{failing[0]}/retriage").status, 202)
        s.wait_status(failing[0], "triaged")
        # deletes (as retention does), then a fold by the next sweep
        s.sql(f"DELETE FROM incidents WHERE id IN ({ids[0]}, {ids[1]}, {failing[1]})")
        self.assert_counts_true()
        wait_for(lambda: int(s.scalar("SELECT count(*) FROM incident_counts")) <=
                 len(self.counted()), 20, "the appended counts folded")
        self.assert_counts_true()

        # what the API shows is the same
        counts = s.request("GET", "/stats").json["counts"]
        by_status = {v: int(n) for d, v, n in self.counted() if d == "status"}
        self.assertEqual({k: v for k, v in counts.items() if v}, by_status)
        metrics = s.request("GET", "/metrics").body
        for d, v, n in self.counted():
            self.assertIn(f'triage_incidents_by_{d}{{{d}="{v}"}} {n}\n', metrics)

    def test_014_counts_a_populated_database(self):
        s = self.stack
        older = tempfile.mkdtemp(prefix="sql-pre014-")
        self.addCleanup(shutil.rmtree, older, True)
        sql_dir = s.env["TRIAGE_SQL_DIR"]
        for f in os.listdir(sql_dir):
            if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < 14:
                shutil.copy(os.path.join(sql_dir, f), older)
        store = s.start_store(env={"TRIAGE_SQL_DIR": older})
        wait_for(lambda: "ready:" in store.text() or not store.alive(), 30, "store ready")
        s.stop("store")
        s.sql("INSERT INTO incidents (request_id, title, description, fingerprint, status,"
              " severity, category, severity_override, state)"
              " SELECT 'old-' || g, 'Disk full ' || g, 'x', 'fp-' || g,"
              " (ARRAY['submitted','processing','triaged','failed'])[1 + g % 4],"
              " CASE WHEN g % 4 = 2 THEN 'high' END, CASE WHEN g % 4 = 2 THEN 'storage' END,"
              " CASE WHEN g % 8 = 2 THEN 'low' END,"
              " (ARRAY['open','acknowledged','resolved'])[1 + g % 3]"
              " FROM generate_series(1, 500) g")
        s.start_store()
        s.start_gateway()
        s.wait_ready()
        latest = max(int(f[:3]) for f in os.listdir(sql_dir) if f.endswith(".sql") and f[:3].isdigit())
        self.assertEqual(s.scalar("SELECT max(version) FROM schema_migrations"), str(latest))
        self.assert_counts_true()
        s.submit(title="after the upgrade")
        self.assert_counts_true()


if __name__ == "__main__":
    unittest.main()
