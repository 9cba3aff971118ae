"""Backup and restore as README's "Backup and restore" says: pg_dump of a live database,
pg_restore into an empty one, and the pipeline started on the copy serves everything it
held (incidents, triage, responder actions, timelines) and goes on taking new ones."""

import os
import subprocess
import tempfile
import unittest

from harness import PipelineTest, Stack
from harness.pg import PG_BIN


class BackupRestoreTest(PipelineTest):
    def test_restored_database_serves_again(self):
        s = self.stack
        s.start_store()
        s.start_gateway()
        s.wait_ready()
        s.start_enricher("enricher1", llm="rules")
        ids = [s.submit(title=t, description=d)["id"] for t, d in (
            ("Disk Full", "Production disk at 100% on db-1"),
            ("Checkout 500s", "Payment API returns HTTP 500 for 30% of requests"),
            ("TLS certificate expires in 3 days", "api.example.com"))]
        for i in ids:
            s.wait_status(i, "triaged")
        self.assertEqual(s.request("POST", f"/incidents/{ids[0]}/acknowledge").status, 200)
        self.assertEqual(s.request("POST", f"/incidents/{ids[1]}/resolve").status, 200)
        r = s.request("PATCH", f"/incidents/{ids[2]}", {"severity": "critical"})
        self.assertEqual(r.status, 200, r)
        before = {i: s.incident(i) for i in ids}

        # the backup is taken while the pipeline runs (pg_dump reads one snapshot)
        dump = os.path.join(tempfile.mkdtemp(dir=s.dir), "triage.dump")
        subprocess.run([os.path.join(PG_BIN, "pg_dump"), "-Fc", "-f", dump, "-d",
                        self.pg.url(s.database)], check=True, capture_output=True, timeout=120)
        for name in ("enricher1", "gateway", "store"):
            self.assertEqual(s.stop(name), 0, name)

        restored = Stack("restored", self.pg)
        self.addCleanup(restored.close)
        r = subprocess.run([os.path.join(PG_BIN, "pg_restore"), "--no-owner", "--exit-on-error",
                            "-d", self.pg.url(restored.database), dump],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        restored.start_store()
        restored.start_gateway()
        restored.wait_ready()
        for i in ids:
            after = restored.incident(i)
            for field in ("title", "description", "status", "state", "severity", "category",
                          "version"):
                self.assertEqual(after.get(field), before[i].get(field), f"#{i} {field}")
            self.assertEqual([e["kind"] for e in after["timeline"]],
                             [e["kind"] for e in before[i]["timeline"]], f"#{i} timeline")
        # the migrations are not re-applied, and new incidents take new ids
        self.assertEqual(self.pg.scalar("SELECT count(*) FROM schema_migrations",
                                        db=restored.database),
                         self.pg.scalar("SELECT count(*) FROM schema_migrations",
                                        db=s.database))
        restored.start_enricher("enricher1", llm="rules")
        new = restored.submit(title="After the restore", description="queue depth growing")
        self.assertGreater(new["id"], max(ids))
        restored.wait_status(new["id"], "triaged")


if __name__ == "__main__":
    unittest.main()
