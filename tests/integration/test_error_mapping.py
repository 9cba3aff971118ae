"""Errors mean what they say: a statement the database refuses because our SQL is wrong is
500 internal (a bug, never an outage); a value its checks refuse is 400 invalid; only a
store or database that cannot answer in time is 503 unavailable. Nothing is stored by
any failed submit, and the store keeps running (the harness fails the test otherwise)."""

import unittest

from harness import PipelineTest


class ErrorMappingTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def count(self):
        return int(self.stack.scalar("SELECT count(*) FROM incidents"))

    def assert_error(self, r, status, name):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json["error"], name, r)
        self.assertIsInstance(r.json["detail"], str, r)
        if status == 503:
            self.assertEqual(r.header("Retry-After"), "1", r)
        else:
            self.assertIsNone(r.header("Retry-After"), r)

    def test_sql_bug_in_a_query_is_500_internal(self):
        iid = self.stack.submit(title="seen before the bug")["id"]
        self.stack.sql("ALTER FUNCTION triage_incident_json(incidents) "
                       "RENAME TO triage_incident_json_gone")
        r = self.stack.request("GET", f"/incidents/{iid}")
        self.assert_error(r, 500, "internal")
        self.assertIn("database error", r.json["detail"])
        self.stack.sql("ALTER FUNCTION triage_incident_json_gone(incidents) "
                       "RENAME TO triage_incident_json")
        self.assertEqual(self.stack.request("GET", f"/incidents/{iid}").status, 200)

    def test_sql_bug_in_a_submit_is_500_and_stores_nothing(self):
        self.stack.sql("ALTER TABLE incidents RENAME COLUMN fingerprint TO fingerprint_gone")
        r = self.stack.request("POST", "/incidents", {"title": "t", "description": "d"})
        self.assert_error(r, 500, "internal")
        self.stack.sql("ALTER TABLE incidents RENAME COLUMN fingerprint_gone TO fingerprint")
        self.assertEqual(self.count(), 0)
        self.stack.submit(title="after the fix")
        self.assertEqual(self.count(), 1)

    def test_value_the_database_refuses_is_400_invalid(self):
        self.stack.sql("ALTER TABLE incidents ADD CONSTRAINT no_forbidden_title "
                       "CHECK (title <> 'forbidden')")
        r = self.stack.request("POST", "/incidents", {"title": "forbidden", "description": ""})
        self.assert_error(r, 400, "invalid")
        self.assertIn("no_forbidden_title", r.json["detail"])
        self.assertEqual(self.count(), 0)
        self.stack.submit(title="allowed")
        self.assertEqual(self.count(), 1)

    def test_unreachable_store_is_503_unavailable(self):
        self.stack.stop("store")
        r = self.stack.request("POST", "/incidents", {"title": "t", "description": "d"})
        self.assert_error(r, 503, "unavailable")


if __name__ == "__main__":
    unittest.main()
