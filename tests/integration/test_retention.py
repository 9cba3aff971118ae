"""Retention: resolved incidents older than TRIAGE_RETENTION_DAYS are deleted in small
batches (with their timeline), optionally archived first; nothing else is touched."""

import json
import unittest

from harness import PipelineTest, wait_for


class RetentionTest(PipelineTest):
    def populate(self):
        s = self.stack
        ids = [s.submit(title=f"incident {i}", description="disk at 100%")["id"] for i in range(6)]
        for i in ids[:5]:
            self.assertEqual(s.request("POST", f"/incidents/{i}/resolve").status, 200)
        # three resolved 40 days ago; one resolved now; one open but created long ago
        old = ids[:3]
        s.sql(f"UPDATE incidents SET resolved_at = now() - interval '40 days' "
              f"WHERE id IN ({','.join(map(str, old))})")
        s.sql(f"UPDATE incidents SET created_at = now() - interval '400 days' WHERE id = {ids[5]}")
        return ids, old

    def start(self, archive):
        s = self.stack
        s.start_store(env={"TRIAGE_RETENTION_DAYS": "30", "TRIAGE_RETENTION_BATCH": "2",
                           "TRIAGE_RETENTION_INTERVAL_MS": "1000",
                           "TRIAGE_RETENTION_ARCHIVE": "true" if archive else "false"})
        s.start_gateway()
        s.wait_ready()

    def check_deleted(self, ids, old):
        s = self.stack
        wait_for(lambda: s.scalar(f"SELECT count(*) FROM incidents WHERE id IN "
                                  f"({','.join(map(str, old))})") == "0",
                 30, "the retention sweep to delete the old resolved incidents")
        for i in old:
            self.assertEqual(s.request("GET", f"/incidents/{i}").status, 404)
        self.assertEqual(s.scalar(f"SELECT count(*) FROM incident_events WHERE incident_id IN "
                                  f"({','.join(map(str, old))})"), "0")
        for i in ids[3:]:
            self.assertEqual(s.request("GET", f"/incidents/{i}").status, 200, i)
        self.assertIn("retention: deleted", s.procs["store"].text())

    def test_archive_then_delete(self):
        self.start(archive=True)
        ids, old = self.populate()
        self.check_deleted(ids, old)
        rows = self.stack.sql("SELECT id, doc FROM incidents_archive ORDER BY id")
        self.assertEqual([int(r[0]) for r in rows], old)
        for r in rows:
            doc = json.loads(r[1])
            self.assertEqual(doc["incident"]["id"], int(r[0]))
            self.assertEqual(doc["incident"]["state"], "resolved")
            kinds = [e["kind"] for e in doc["timeline"]]
            self.assertEqual(kinds[0], "created")
            self.assertIn("resolved", kinds)

    def test_delete_without_archive(self):
        self.start(archive=False)
        ids, old = self.populate()
        self.check_deleted(ids, old)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents_archive"), "0")

    def test_off_by_default(self):
        s = self.stack
        s.start_store()
        s.start_gateway()
        s.wait_ready()
        ids, old = self.populate()
        # the store says at start whether retention runs; off, it never deletes
        self.assertNotIn("retention:", s.procs["store"].text())
        self.assertEqual(s.scalar("SELECT count(*) FROM incidents"), "6")


if __name__ == "__main__":
    unittest.main()
