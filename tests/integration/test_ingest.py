"""Durable ingest through the real gateway and store into a private PostgreSQL:
a 202 means the row is committed; listing, filters, paging, idempotency, dedup."""

import threading
import unittest

from harness import PipelineTest


class IngestTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def test_accepted_means_committed(self):
        r = self.stack.request("POST", "/incidents",
                               {"title": "Disk Full", "description": "Production disk at 100%",
                                "source": "curl", "service": "db-1",
                                "labels": {"env": "prod", "team": "storage"}})
        self.assertEqual(r.status, 202, r)
        body = r.json
        self.assertEqual(body["status"], "submitted")
        self.assertEqual(body["title"], "Disk Full")
        self.assertEqual(r.header("Location"), f"/incidents/{body['id']}")
        # The row and its 'created' timeline event are in the database right now.
        rows = self.stack.sql(f"SELECT title, description, service, labels->>'team' "
                              f"FROM incidents WHERE id = {body['id']}")
        self.assertEqual(rows, [["Disk Full", "Production disk at 100%", "db-1", "storage"]])
        self.assertEqual(self.stack.scalar(
            f"SELECT count(*) FROM incident_events WHERE incident_id = {body['id']} "
            f"AND kind = 'created'"), "1")

        got = self.stack.incident(body["id"])
        self.assertEqual(got["id"], body["id"])
        self.assertEqual(got["labels"], {"env": "prod", "team": "storage"})
        self.assertEqual(got["state"], "open")
        self.assertEqual([e["kind"] for e in got["timeline"]][:1], ["created"])

    def test_bearer_key_is_accepted(self):
        r = self.stack.request("POST", "/incidents", {"title": "t", "description": ""},
                               key=False, headers={"Authorization": "Bearer secret123"})
        self.assertEqual(r.status, 202, r)

    def test_many_concurrent_submits_all_committed(self):
        n, results, lock = 120, [], threading.Lock()

        def worker(i):
            r = self.stack.request("POST", "/incidents",
                                   {"title": f"burst {i}", "description": "load"})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(r.status for r in results), [202] * n)
        ids = {r.json["id"] for r in results}
        self.assertEqual(len(ids), n)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents "
                                           "WHERE title LIKE 'burst %'"), str(n))

    def test_idempotency_key_returns_original(self):
        body = {"title": "Payment errors", "description": "5xx on /pay"}
        a = self.stack.request("POST", "/incidents", body, headers={"Idempotency-Key": "abc-1"})
        b = self.stack.request("POST", "/incidents", body, headers={"Idempotency-Key": "abc-1"})
        c = self.stack.request("POST", "/incidents", body, headers={"Idempotency-Key": "abc-2"})
        self.assertEqual((a.status, b.status, c.status), (202, 202, 202))
        self.assertEqual(a.json["id"], b.json["id"])
        self.assertNotEqual(a.json["id"], c.json["id"])
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE title = 'Payment errors'"), "2")

    def test_dedup_key_counts_occurrences(self):
        body = {"title": "CPU high", "description": "node-3 at 98%", "dedup_key": "cpu/node-3"}
        first = self.stack.submit(**body)
        again = self.stack.request("POST", "/incidents", body)
        self.assertEqual(again.status, 202, again)
        self.assertEqual(again.json["id"], first["id"])
        self.assertTrue(again.json.get("deduplicated"))
        self.assertEqual(self.stack.incident(first["id"])["occurrence_count"], 2)
        # Once resolved, the same key opens a new incident.
        r = self.stack.request("POST", f"/incidents/{first['id']}/resolve")
        self.assertEqual(r.status, 200, r)
        third = self.stack.submit(**body)
        self.assertNotEqual(third["id"], first["id"])

    def test_list_newest_first_with_paging_and_filters(self):
        ids = [self.stack.submit(title=f"page {i}", description="needle" if i % 2 else "hay")["id"]
               for i in range(7)]
        seen, cursor = [], None
        while True:
            path = "/incidents?limit=3" + (f"&cursor={cursor}" if cursor else "")
            r = self.stack.request("GET", path)
            self.assertEqual(r.status, 200, r)
            self.assertLessEqual(len(r.json["items"]), 3)
            seen += [i["id"] for i in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, sorted(ids, reverse=True))

        r = self.stack.request("GET", "/incidents?q=NEEDLE&limit=50")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         sorted(ids[1::2], reverse=True))
        r = self.stack.request("GET", "/incidents?status=submitted&state=open&limit=200")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["items"]), 7)
        r = self.stack.request("GET", "/incidents?status=triaged")
        self.assertEqual(r.json["items"], [])

    def test_bad_list_parameters(self):
        for q in ("status=bogus", "limit=0", "limit=201", "limit=abc", "severity=urgent",
                  "cursor=%%%", "nosuch=1", "state=closed"):
            r = self.stack.request("GET", f"/incidents?{q}")
            self.assertEqual(r.status, 400, (q, r))
            self.assertIn("error", r.json)
            self.assertIn("detail", r.json)

    def test_acknowledge_resolve_override(self):
        inc = self.stack.submit()
        iid = inc["id"]
        r = self.stack.request("POST", f"/incidents/{iid}/acknowledge")
        self.assertEqual((r.status, r.json["state"]), (200, "acknowledged"))
        r = self.stack.request("POST", f"/incidents/{iid}/acknowledge")
        self.assertEqual(r.status, 409, r)
        r = self.stack.request("PATCH", f"/incidents/{iid}", {"severity": "critical"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["override"]["severity"], "critical")
        self.assertEqual(r.json["severity"], "critical")
        r = self.stack.request("PATCH", f"/incidents/{iid}", {"severity": "urgent"})
        self.assertEqual(r.status, 400, r)
        r = self.stack.request("PATCH", f"/incidents/{iid}", {"severity": None})
        self.assertIsNone(r.json["override"]["severity"])
        r = self.stack.request("POST", f"/incidents/{iid}/resolve")
        self.assertEqual((r.status, r.json["state"]), (200, "resolved"))
        kinds = [e["kind"] for e in self.stack.incident(iid)["timeline"]]
        for k in ("created", "acknowledged", "override", "resolved"):
            self.assertIn(k, kinds)


if __name__ == "__main__":
    unittest.main()
