"""Users upgrade in place: for every migration N, a database at schema N-1 holding data
(incidents in every status and state, a timeline, a setting) is upgraded by applying N,
loses nothing, and then the real store applies the rest and serves it: the data reads
back through the API and the waiting incident is triaged."""

import glob
import os
import subprocess
import unittest

from harness import PipelineTest, SOURCE_DIR, Stack

SQL_DIR = os.path.join(SOURCE_DIR, "sql")

# Written against schema 001 (every later migration must upgrade it in place).
SEED = """
INSERT INTO incidents (id, request_id, title, description, source, service, labels,
                       dedup_key, fingerprint, occurrence_count, status)
VALUES (1, 'seed-1', 'Waiting for triage', 'queue depth growing on orders', 'curl',
        'orders', '{"env": "prod"}', NULL, 'fp-1', 1, 'submitted');
INSERT INTO incidents (id, request_id, title, description, fingerprint, status, attempt,
                       summary, severity, category, suggested_actions, confidence,
                       backend, model, prompt_version, latency_ms, triaged_at, state,
                       acknowledged_at, resolved_at, version)
VALUES (2, 'seed-2', 'Disk Full', 'Production disk at 100%', 'fp-2', 'triaged', 1,
        'The production disk is full.', 'high', 'storage', '["Free space"]', 0.8,
        'rules', 'rules', 'v1', 3, now() - interval '2 days', 'resolved',
        now() - interval '2 days', now() - interval '1 day', 5);
INSERT INTO incidents (id, request_id, idempotency_key, title, description, dedup_key,
                       fingerprint, occurrence_count, status, attempt, failure_reason,
                       failure_detail, severity_override, state, acknowledged_at, version)
VALUES (3, 'seed-3', 'idem-3', 'Checkout 500s', 'Payment API returns 500', 'checkout-500',
        'fp-3', 3, 'failed', 5, 'attempts_exhausted', 'gave up', 'critical', 'acknowledged',
        now(), 4);
SELECT setval(pg_get_serial_sequence('incidents', 'id'), 3);
INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail) VALUES
  (1, 'created', 'submitted', NULL, 'api', '{}'),
  (2, 'created', 'submitted', NULL, 'api', '{}'),
  (2, 'triaged', 'triaged', 1, 'enricher:seed', '{}'),
  (2, 'resolved', 'triaged', NULL, 'api', '{}'),
  (3, 'created', 'submitted', NULL, 'api', '{}'),
  (3, 'failed', 'failed', 5, 'store', '{"reason": "attempts_exhausted"}');
INSERT INTO settings (name, value) VALUES ('model', 'llama3:8b');
"""

COUNTS = ("SELECT (SELECT count(*) FROM incidents) || '/' || "
          "(SELECT count(*) FROM incident_events) || '/' || (SELECT count(*) FROM settings)")


def migrations():
    return sorted(glob.glob(os.path.join(SQL_DIR, "[0-9][0-9][0-9]_*.sql")))


class UpgradeTest(PipelineTest):
    def psql_file(self, db, path):
        r = subprocess.run(["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1",
                            "-d", self.pg.url(db), "-f", path],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, f"{os.path.basename(path)}: {r.stderr}")

    def record(self, db, path):
        """What the store records for an applied migration (store_migrate.c)."""
        name = os.path.basename(path)
        self.pg.psql("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                     " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", db)
        self.pg.psql(f"INSERT INTO schema_migrations (version, name) VALUES "
                     f"({int(name[:3])}, '{name}')", db)

    def apply_all(self, db, paths):
        """Applies the migrations in order, each in its own transaction with its record,
        in one psql run (one run each made this test the suite's longest beside another
        suite)."""
        script = ["CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                  " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"]
        for path in paths:
            name = os.path.basename(path)
            script += ["BEGIN;", f"\\i '{path}'",
                       f"INSERT INTO schema_migrations (version, name) VALUES "
                       f"({int(name[:3])}, '{name}');", "COMMIT;"]
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.pg.url(db)],
                           input="\n".join(script) + "\n", capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_each_migration_upgrades_a_populated_database(self):
        files = migrations()
        self.assertGreaterEqual(len(files), 3)
        for n in range(1, len(files)):
            with self.subTest(migration=os.path.basename(files[n])):
                self.upgrade_from(files, n)

    def upgrade_from(self, files, n):
        stack = Stack(f"upgrade{n}", self.pg)
        self.addCleanup(stack.close)
        db = stack.database
        self.apply_all(db, files[:n])
        self.pg.psql(SEED, db)
        before = self.pg.scalar(COUNTS, db)
        # the migration under test, alone, on the populated database
        self.psql_file(db, files[n])
        self.record(db, files[n])
        self.assertEqual(self.pg.scalar(COUNTS, db), before)

        # the real store applies the rest and serves the data
        stack.start_store()
        stack.start_gateway()
        stack.wait_ready()
        applied = self.pg.scalar("SELECT count(*) FROM schema_migrations", db)
        self.assertEqual(int(applied), len(files))
        two = stack.incident(2)
        self.assertEqual((two["title"], two["status"], two["state"], two["severity"],
                          two["category"]), ("Disk Full", "triaged", "resolved", "high", "storage"))
        self.assertEqual(two["triage"]["summary"], "The production disk is full.")
        self.assertEqual([e["kind"] for e in two["timeline"]], ["created", "triaged", "resolved"])
        three = stack.incident(3)
        self.assertEqual((three["status"], three["state"], three["severity"],
                          three["occurrence_count"], three["failure_reason"]),
                         ("failed", "acknowledged", "critical", 3, "attempts_exhausted"))
        # q= finds a title and a description, each alone (not across the two)
        def found(q):
            r = stack.request("GET", f"/incidents?q={q}")
            self.assertEqual(r.status, 200, r)
            return sorted(i["id"] for i in r.json["items"])
        self.assertEqual(found("disk%20full"), [2])
        self.assertEqual(found("queue%20depth"), [1])
        self.assertEqual(found("full%20production"), [])
        self.assertEqual(found("full%0Aproduction"), [])  # a newline: sql/019's separator
        self.assertEqual(found("disk%20full%0A"), [])
        settings = stack.request("GET", "/settings")
        self.assertEqual(settings.json["model"], "llama3:8b")
        # the incident that was waiting is triaged, and new ones take new ids
        stack.start_enricher("enricher1", llm="rules")
        stack.wait_status(1, "triaged")
        new = stack.submit(title="After the upgrade", description="all good")
        self.assertEqual(new["id"], 4)
        for name in ("enricher1", "gateway", "store"):
            self.assertEqual(stack.stop(name), 0, name)


if __name__ == "__main__":
    unittest.main()
