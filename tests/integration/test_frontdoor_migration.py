"""sql/005 (api_keys) upgrades a populated database in place: a store runs the
migrations below 005 and takes incidents, then a store with every migration applies 005
without touching them, and keys work on the upgraded database."""

import os
import shutil
import tempfile
import unittest

from harness import SOURCE_DIR, PipelineTest, wait_for

ADMIN = "bootstrap-admin-key-0123456789abcdef"


class MigrationTest(PipelineTest):
    def test_005_upgrades_a_populated_database(self):
        old = tempfile.mkdtemp(prefix="sql-old-", dir=self.stack.dir)
        sql = os.path.join(SOURCE_DIR, "sql")
        for f in sorted(os.listdir(sql)):
            if f.endswith(".sql") and int(f[:3]) < 5:
                shutil.copy(os.path.join(sql, f), old)
        self.stack.key = ADMIN
        self.stack.start_store(env={"TRIAGE_SQL_DIR": old})
        self.stack.start_gateway(env={"TRIAGE_API_KEYS": ADMIN})
        self.stack.wait_ready()
        # rows written straight into the old schema: today's store code needs the later
        # migrations (006's retry keys) to take a submit
        ids = [int(r[0]) for r in self.stack.sql(
            "INSERT INTO incidents (request_id, title, description, fingerprint)"
            " SELECT 'old-' || g, 'before 005 #' || g, 'x', md5(g::text)"
            " FROM generate_series(0, 2) g ORDER BY g RETURNING id")]
        self.assertEqual(self.stack.scalar("SELECT to_regclass('api_keys') IS NULL"), "t")
        self.stack.stop("store")
        store = self.stack.start_store(name="store2")  # every migration: applies 005 only
        wait_for(lambda: "ready:" in store.text() or not store.alive(), 30, "the store")
        self.assertTrue(store.alive(), store.text()[-2000:])
        self.assertEqual(self.stack.scalar("SELECT max(version) FROM schema_migrations"),
                         str(max(int(f[:3]) for f in os.listdir(sql) if f.endswith(".sql"))))
        self.stack.wait_ready()
        for i, iid in enumerate(ids):
            self.assertEqual(self.stack.incident(iid)["title"], f"before 005 #{i}")
        r = self.stack.request("POST", "/keys", {"name": "after", "role": "viewer"})
        self.assertEqual(r.status, 201, r)
        got = self.stack.request("GET", "/incidents", key=r.json["key"])
        self.assertEqual((got.status, len(got.json["items"])), (200, 3))


if __name__ == "__main__":
    unittest.main()
