"""Submits that travel several to a store request (SUBMIT_BATCH, issue 8): one bad submit
in a batch fails alone, duplicates inside a batch (request id, idempotency key, dedup key)
end as they do across separate requests, an incident's events keep their order, and with
the store killed mid-batch every 202 is in the database exactly once and a 503 stored
nothing (or its retry lands on the one row it stored). Also the search data built off
the insert path (sql/017) while searches find every incident."""

import os
import re
import subprocess
import threading
import unittest

from harness import BIN_DIR, PipelineTest, wait_for
from test_honest_503 import Honest503Base
from test_store_internals import mp

PROBE = os.path.join(BIN_DIR, "triage-probe")
INVALID = 1  # tr_err TR_ERR_INVALID: the gateway answers 400


def submit(request_id, title, **fields):
    body = {"request_id": request_id, "title": title, "description": "sent raw"}
    body.update(fields)
    return body


def batch_msg(batch_id, submits):
    return mp([1, 13, {"request_id": batch_id, "submits": submits}]).hex()


def submit_msg(s):
    return mp([1, 1, s]).hex()


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


class BatchTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def ask(self, *messages):
        """Sends each raw message to the store; each reply as (request_id, code, created,
        incident_id, json text), a batch's replies one after the other."""
        r = subprocess.run([PROBE, "raw", "ask", self.stack.env["TRIAGE_STORE_URL"], *messages],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        replies = []
        for line in r.stdout.splitlines():
            self.assertTrue(line.startswith("reply "), r.stdout)
            _, rid, code, created, iid, body = line.split(" ", 5)
            replies.append((rid, int(code), created == "1", int(iid), body))
        return replies

    def store_metrics(self):
        return self.stack.request("GET", "/metrics").body

    def test_bad_submit_in_a_batch_fails_alone(self):
        # refused by the store's own checks (invalid UTF-8 passes the decoder)
        bad_title = b"\xff\xfe not utf-8"
        replies = self.ask(batch_msg("b-1", [
            submit("r-good-1", "good one"), submit("r-bad-1", bad_title),
            submit("r-good-2", "good two")]))
        self.assertEqual([(r[0], r[1]) for r in replies],
                         [("r-good-1", 0), ("r-bad-1", INVALID), ("r-good-2", 0)])
        self.assertIn('"error"', replies[1][4])
        self.assertTrue(replies[0][2] and replies[2][2])
        # refused by the database inside the multi-row insert: only that one fails
        self.stack.sql("ALTER TABLE incidents ADD CONSTRAINT test_poison"
                       " CHECK (title <> 'poison')")
        replies = self.ask(batch_msg("b-2", [
            submit("r-good-3", "good three"), submit("r-poison", "poison"),
            submit("r-good-4", "good four")]))
        self.assertEqual([(r[0], r[1]) for r in replies],
                         [("r-good-3", 0), ("r-poison", INVALID), ("r-good-4", 0)])
        self.assertIn("refused", replies[1][4])
        self.assertEqual(sorted(r[0] for r in self.stack.sql("SELECT request_id FROM incidents")),
                         ["r-good-1", "r-good-2", "r-good-3", "r-good-4"])
        # over HTTP, sent together: the poisoned one gets its 400 and JSON, the rest 202
        n, results, lock = 24, {}, threading.Lock()
        start = threading.Barrier(n)
        before = metric(self.store_metrics(), "triage_submit_batch_submits_total")

        def client(i):
            title = "poison" if i == n // 2 else f"together {i}"
            start.wait(30)
            r = self.stack.request("POST", "/incidents", {"title": title, "description": "x"})
            with lock:
                results[title] = r

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        bad = results.pop("poison")
        self.assertEqual(bad.status, 400, bad.body)
        self.assertEqual(bad.json["error"], "invalid")
        self.assertEqual({t: r.status for t, r in results.items()},
                         {t: 202 for t in results})
        ids = {r.json["id"] for r in results.values()}
        self.assertEqual(len(ids), n - 1)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE title LIKE 'together %'"), str(n - 1))
        after = self.store_metrics()
        self.assertGreater(metric(after, "triage_submit_batch_submits_total") - before, 0,
                           "the gateway sent no batch")

    def test_duplicates_inside_a_batch_end_as_across_requests(self):
        def six(tag):
            return [submit(f"{tag}-same", f"{tag} same request"),
                    submit(f"{tag}-same", f"{tag} same request"),
                    submit(f"{tag}-k1", f"{tag} key", idempotency_key=f"{tag}-key"),
                    submit(f"{tag}-k2", f"{tag} key", idempotency_key=f"{tag}-key"),
                    submit(f"{tag}-d1", f"{tag} dedup", dedup_key=f"{tag}-dedup"),
                    submit(f"{tag}-d2", f"{tag} dedup", dedup_key=f"{tag}-dedup")]

        together = self.ask(batch_msg("b-dup", six("bat")))
        apart = self.ask(*[submit_msg(s) for s in six("sep")])
        self.assertEqual(len(together), 6)
        self.assertEqual(len(apart), 6)

        def shape(replies):
            """What a client sees: the codes, which replies share an incident, which say
            deduplicated."""
            ids = [r[3] for r in replies]
            return ([r[1] for r in replies], [ids.index(i) for i in ids],
                    ['"deduplicated"' in r[4] for r in replies])

        self.assertEqual(shape(together), shape(apart))
        self.assertEqual(shape(apart)[1], [0, 0, 2, 2, 4, 4])
        for tag in ("bat", "sep"):
            self.assertEqual(self.stack.sql(
                "SELECT title, count(*), sum(occurrence_count) FROM incidents"
                f" WHERE request_id LIKE '{tag}-%' GROUP BY 1 ORDER BY 1"),
                [[f"{tag} dedup", "1", "2"], [f"{tag} key", "1", "1"],
                 [f"{tag} same request", "1", "1"]])
            # each incident's timeline: created, then the occurrence
            self.assertEqual(self.stack.sql(
                "SELECT e.kind FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
                f" WHERE i.dedup_key = '{tag}-dedup' ORDER BY e.id"),
                [["created"], ["occurrence"]])

    def test_events_of_an_incident_keep_their_order(self):
        # many submits of one dedup key at once, over HTTP: they travel in batches
        n, statuses, lock = 48, [], threading.Lock()
        start = threading.Barrier(n)

        def client(i):
            start.wait(30)
            r = self.stack.request("POST", "/incidents",
                                   {"title": "flapping", "description": f"#{i}",
                                    "dedup_key": "flap-1"})
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(statuses, [202] * n)
        iid = self.stack.scalar("SELECT id FROM incidents WHERE dedup_key = 'flap-1'")
        self.assertEqual(self.stack.scalar(
            f"SELECT occurrence_count FROM incidents WHERE id = {iid}"), str(n))
        events = self.stack.sql(
            "SELECT kind, coalesce((detail->>'count')::int, 0) FROM incident_events"
            f" WHERE incident_id = {iid} ORDER BY id")
        self.assertEqual(events[0], ["created", "0"])
        self.assertEqual({e[0] for e in events[1:]}, {"occurrence"})
        self.assertEqual(sum(int(e[1]) for e in events[1:]), n - 1)
        # the timeline the API shows is in the same order
        timeline = [e["kind"] for e in self.stack.incident(int(iid))["timeline"]]
        self.assertEqual(timeline, [e[0] for e in events])


    def test_search_data_is_built_off_the_insert_path(self):
        """sql/017: a submit is committed without its search data (built at its first
        update or by the sweep a few seconds later), and is found by q= and as a similar
        incident all along; a row inserted another way has it at once."""
        a = self.stack.submit(title="Zebracorn-42 pool exhausted", description="pgbouncer")
        b = self.stack.submit(title="Zebracorn-42 pool exhausted again", description="x")
        young_unsearched = self.stack.sql(
            "SELECT now() - created_at < interval '4 seconds', search_tsv IS NULL"
            f" FROM incidents WHERE id IN ({a['id']}, {b['id']}) ORDER BY id")
        for young, unsearched in young_unsearched:
            if young == "t":  # the sweep leaves a row alone for 5 s
                self.assertEqual(unsearched, "t", young_unsearched)

        def found():
            r = self.stack.request("GET", "/incidents?q=zebracorn-42")
            self.assertEqual(r.status, 200, r)
            s = self.stack.request("GET", f"/incidents/{b['id']}/similar")
            self.assertEqual(s.status, 200, s)
            return ({i["id"] for i in r.json["items"]}, [i["id"] for i in s.json["items"]])

        self.assertEqual(found(), ({a["id"], b["id"]}, [a["id"]]))
        wait_for(lambda: self.stack.scalar(
            f"SELECT count(*) FROM incidents WHERE id IN ({a['id']}, {b['id']})"
            " AND search_tsv IS NOT NULL") == "2", 30, "the sweep to build the search data")
        self.assertEqual(found(), ({a["id"], b["id"]}, [a["id"]]))
        self.assertEqual(self.stack.scalar(
            "INSERT INTO incidents (request_id, title, description, fingerprint)"
            " VALUES ('psql-1', 'Inserted by hand', 'zebracorn', 'fp') RETURNING"
            " search_tsv = triage_search_tsv(title, service, source, labels, description)"),
            "t")


class BatchStoreKilledTest(Honest503Base):
    def test_store_killed_mid_batch(self):
        """Many clients, so submits travel in batches; the store is SIGKILLed with batches
        in flight. From the clients' own record: every 202 is in the database exactly
        once; every 503'd body is stored at most once, and its retry lands on that row."""
        seen = {}

        def batches_in_flight():
            text = self.stack.request("GET", "/metrics").body
            seen["batches"] = metric(text, "triage_submit_batches_total")
            seen["submits"] = metric(text, "triage_submit_batch_submits_total")
            self.assertGreater(seen["submits"], seen["batches"],
                               "no batch carried several submits")

        accepted, refused, sent = self.store_killed_under_load(
            32, "batch load", 200, 100, before_kill=batches_in_flight)
        ids = [iid for _, iid in accepted]
        self.assertEqual(len(ids), len(set(ids)), "two 202s named one incident")
        stored_before = self.check_acknowledged_and_refused(accepted, refused)
        print(f"\nstore killed mid-batch: sent {sent}, 202 {len(accepted)}, "
              f"503 {len(refused)}, of which committed before the retry {stored_before} "
              f"(each retry matched it); {seen['submits']} submits in {seen['batches']} "
              "batches before", flush=True)


if __name__ == "__main__":
    unittest.main()
