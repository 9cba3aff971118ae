"""Memory at scale and over time: migration 011 upgrading a populated database in place,
and the plans PostgreSQL chooses at ~100,000 incidents for the store's own statements
(similar incidents, the list, each of its filters, a cursor page, text search, detail,
stats, the dispatcher's claim and its jobs' similar resolved incidents), read with auto_explain:
indexes, not timings (those are in make bench); and that those plans follow the table as
it grows."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import SOURCE_DIR, PipelineTest, wait_for

sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))
import incidents_gen  # noqa: E402  (bench/: the realistic history, COPY format)

ROWS = 100_000


class UpgradeTest(PipelineTest):
    def test_011_upgrades_a_populated_database(self):
        older = tempfile.mkdtemp(prefix="sql-pre011-")
        self.addCleanup(shutil.rmtree, older, True)
        sql_dir = self.stack.env["TRIAGE_SQL_DIR"]
        for f in sorted(os.listdir(sql_dir)):
            if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < 11:
                shutil.copy(os.path.join(sql_dir, f), older)
        store = self.stack.start_store(env={"TRIAGE_SQL_DIR": older})
        wait_for(lambda: "ready:" in store.text() or not store.alive(), 30, "store ready")
        self.stack.stop("store")
        self.assertEqual(self.stack.scalar("SELECT max(version) FROM schema_migrations"),
                         str(max(int(f[:3]) for f in os.listdir(older))))
        # Data as the older schema holds it: triaged, resolved, with events.
        self.stack.sql(
            "INSERT INTO incidents (request_id, title, description, service, labels,"
            " fingerprint, status, summary, severity, category, backend, triaged_at,"
            " finished_at, state, resolved_at)"
            " SELECT 'old-' || g, 'Disk full on db-' || g, '/var at 100%', 'payments',"
            " '{\"env\": \"prod\"}', 'fp' || g, 'triaged', 'Disk full.', 'high', 'storage',"
            " 'rules', now(), now(), 'resolved', now() FROM generate_series(1, 50) g")
        self.stack.sql("INSERT INTO incident_events (incident_id, kind, actor)"
                       " SELECT id, 'created', 'api' FROM incidents")
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.assertEqual(self.stack.scalar("SELECT max(version) FROM schema_migrations"),
                         str(max(int(f[:3]) for f in os.listdir(sql_dir)
                                 if f.endswith(".sql") and f[:3].isdigit())))
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE search_tsv @@ 'disk'::tsquery"), "50")
        old = self.stack.incident(1)
        self.assertEqual((old["title"], old["resolution_note"], old["triage_feedback"],
                          old["triage"]["severity"], old["triage"]["similar_used"]),
                         ("Disk full on db-1", None, None, "high", []))
        self.assertEqual(len(old["timeline"]), 1)
        new = self.stack.submit(title="Disk full on db-7", service="payments")
        r = self.stack.request("GET", f"/incidents/{new['id']}/similar")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["items"]), 5)
        self.assertEqual(r.json["items"][0]["id"], 7)
        # Once the small table has statistics (autovacuum analyses it after 50 rows),
        # where every host number is known: the rarest title word ("-7", as the parser
        # reads "db-7", in one incident) must not be the only way in.
        self.stack.sql("ANALYZE incidents")
        self.assertIsNotNone(self.stack.scalar(
            "SELECT 1 FROM pg_stats WHERE tablename = 'incidents' AND attname = 'search_tsv'"
            " AND '-7' = ANY(most_common_elems::text::text[])"))
        r = self.stack.request("GET", f"/incidents/{new['id']}/similar")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["items"]), 5, r.json)
        self.assertEqual(r.json["items"][0]["id"], 7)
        r = self.stack.request("POST", f"/incidents/{new['id']}/resolve", {"note": "grew it"})
        self.assertEqual((r.status, r.json["resolution_note"]), (200, "grew it"))


class PlanTest(PipelineTest):
    def explained(self, marker, timeout=30, since=0):
        """The last auto_explain entry (query text and plan) whose text contains marker,
        among those logged after byte `since` of the server's log."""
        def find():
            with open(self.pg.log, errors="replace") as f:
                log = f.read()[since:]
            at = log.rfind(marker)
            if at < 0:
                return None
            start = log.rfind("duration:", 0, at)
            nxt = log.find("duration:", at)
            stop = nxt if nxt > 0 else len(log)
            return log[start:stop]
        return wait_for(find, timeout, f"auto_explain to log the statement with {marker}")

    def test_plans_use_the_indexes_at_100k(self):
        db = self.stack.database
        for setting in ("session_preload_libraries = 'auto_explain'",
                        "auto_explain.log_min_duration = 0",
                        "auto_explain.log_level = 'warning'"):
            self.stack.sql(f'ALTER DATABASE "{db}" SET {setting}')
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        gen = subprocess.Popen([sys.executable, os.path.join(SOURCE_DIR, "bench",
                                                             "incidents_gen.py"), str(ROWS)],
                               stdout=subprocess.PIPE)
        copy = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                               self.pg.url(db), "-c",
                               f"COPY incidents ({incidents_gen.COLUMNS}) FROM STDIN"],
                              stdin=gen.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        gen.stdout.close()
        self.assertEqual((gen.wait(), copy.returncode), (0, 0), copy.stderr)
        self.stack.sql("ANALYZE incidents")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), str(ROWS))

        # A rare word (one host of ~4,000): the joined text's trigram index (sql/019) and,
        # for rows without search data yet, incidents_unsearched; not a scan.
        r = self.stack.request("GET", "/incidents?q=cache-auth-17&limit=20")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["items"])
        self.assertTrue(all("cache-auth-17" in (i["title"] + i["description"]).lower()
                            for i in r.json["items"]))
        plan = self.explained("%cache-auth-17%")
        self.assertIn("incidents_text_trgm", plan, plan)
        self.assertIn("incidents_unsearched", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)

        # A common word: newest first through the primary key, stopping at the page.
        r = self.stack.request("GET", "/incidents?q=disk&limit=20")
        self.assertEqual((r.status, len(r.json["items"])), (200, 20), r)
        plan = self.explained("%disk%")
        self.assertIn("Index Scan Backward using incidents_pkey", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)

        # The list, each filter and a cursor page: newest first through an index that
        # matches the filter, never the whole table. The plan of each request is the
        # one logged after it.
        def plan_of(path, marker="ORDER BY id DESC LIMIT"):
            with open(self.pg.log, errors="replace") as f:
                start = len(f.read())
            r = self.stack.request("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            return r, self.explained(marker, since=start)
        # (a value in many rows may as well walk the primary key: the page fills at once;
        # one in few or none must take its index (then sorting those few is cheap):
        # statuses and states absent from the history, and a category made rare here)
        self.stack.sql("UPDATE incidents SET category_override = 'other' WHERE id % 5000 = 7")
        self.stack.sql("ANALYZE incidents")
        for path, index in (("/incidents?limit=50", "incidents_pkey"),
                            ("/incidents?severity=low&limit=50", None),
                            ("/incidents?status=failed&limit=50", "incidents_status"),
                            ("/incidents?category=other&limit=50", "incidents_category"),
                            ("/incidents?state=acknowledged&limit=50", "incidents_state")):
            r, plan = plan_of(path)
            if index:
                self.assertIn(index, plan, (path, plan))
            self.assertNotIn("Seq Scan on incidents", plan, (path, plan))
        r, _ = plan_of("/incidents?limit=50")
        r, plan = plan_of(f"/incidents?limit=50&cursor={r.json['next_cursor']}")
        self.assertIn("Index Scan Backward using incidents_pkey", plan, plan)
        self.assertEqual(len(r.json["items"]), 50)
        # detail: the row and its timeline by their keys
        r, plan = plan_of(f"/incidents/{ROWS // 2}", "FROM incident_events WHERE incident_id")
        self.assertIn("incidents_pkey", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)
        # stats: counters (sql/014) and the recent rows, never the whole table
        r, plan = plan_of("/stats", "'counts'")
        self.assertNotIn("Seq Scan on incidents", plan, plan)

        # Similar incidents: the GIN index over search_tsv, visiting a bounded set.
        target = ROWS - 10
        r = self.stack.request("GET", f"/incidents/{target}/similar")
        self.assertEqual((r.status, len(r.json["items"])), (200, 5), r)
        plan = self.explained("c.search_tsv @@ t.q")
        self.assertIn("Bitmap Index Scan on incidents_search", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)
        titles = {i["title"].split(" on ")[0] for i in r.json["items"]}
        want = self.stack.incident(target)["title"].split(" on ")[0]
        self.assertEqual(titles, {want}, r.json["items"])
        # Candidates share the rarest title word the statistics know, in two tiers: those
        # that also share a rare word, then, only if too few did, the others. A host name
        # no other incident has is not that anchor (with it, nothing was found), and
        # words nobody else has leave the first tier empty: the second finds the kind.
        odd = self.stack.submit(title="Replication lag on zqxwvu-plorkq",
                                description="zqxwvu plorkq fnargle", service="quuxly")
        r = self.stack.request("GET", f"/incidents/{odd['id']}/similar")
        self.assertEqual((r.status, len(r.json["items"])), (200, 5), r)
        self.assertTrue(all(i["title"].startswith("Replication lag on ")
                            for i in r.json["items"]), r.json["items"])
        rows = self.stack.sql(
            "SELECT freq FROM pg_stats s, unnest(s.most_common_elems::text::text[],"
            " s.most_common_elem_freqs) e(lexeme, freq) WHERE s.tablename = 'incidents'"
            " AND s.attname = 'search_tsv' AND e.lexeme IN ('replic', 'lag')")
        # (the premise: the title's words are common, in 1%-10% of incidents)
        self.assertTrue(rows and all(0.01 <= float(f) < 0.1 for (f,) in rows), rows)

        # The dispatcher's claim, with a backlog of 5,000 due rows: the first rows of the
        # due index in the order it serves them (sql/016), not a sort of the backlog.
        self.stack.sql("UPDATE incidents SET status = 'submitted', next_attempt_at = now()"
                       " WHERE id % 20 = 0")
        self.stack.sql("ANALYZE incidents")
        self.stack.start_enricher(llm="rules")
        plan = self.explained("ORDER BY next_attempt_at, id LIMIT", timeout=60)
        self.assertIn("status = 'submitted' AND next_attempt_at <= now()", plan, plan)
        self.assertIn("Index Scan using incidents_due_order", plan, plan)
        self.assertNotIn("Sort Key: incidents.next_attempt_at", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)
        # The claimed jobs' similar resolved incidents: the resolved incidents' own text
        # index (sql/017), not every resolved row through an index on state.
        plan = self.explained("THEN c.search_tsv END) @@ t.q", timeout=60)
        self.assertIn("Bitmap Index Scan on incidents_search_remembered", plan, plan)
        self.assertNotIn("Seq Scan on incidents", plan, plan)
        self.assertNotIn("incidents_state", plan, plan)



class PlanFollowsGrowthTest(PipelineTest):
    """Cached plans follow the table's growth: PostgreSQL keeps one generic plan per
    prepared statement (ours, and its own foreign-key check of every incident_events
    row), costed with the row counts of when it was made, until the table's statistics
    change. One made while the table was nearly empty read the whole table for every
    claim, and for every event row's check, once it had grown. The store ANALYZEs the
    table when it has doubled (store_analyze.c), which makes the plans again."""

    CLAIM = "WITH c AS (SELECT id FROM incidents WHERE status = 'submitted'"
    FK_CHECK = 'FROM ONLY "public"."incidents" x WHERE "id" OPERATOR(pg_catalog.=) $1'

    def plan_after(self, text, since):
        """The plan of the newest statement containing text that took a row, logged after
        byte `since`."""
        with open(self.pg.log, errors="replace") as f:
            log = f.read()[since:]
        def took_rows(plan):
            top = next((l for l in plan.splitlines() if "actual time=" in l), "")
            return " rows=0 " not in top
        plans = [p for p in log.split("duration:") if text in p and took_rows(p)]
        return plans[-1] if plans else None

    def triage_one(self, n):
        inc = self.stack.submit(title=f"Disk full on host-{n}", description="volume at 99%")
        self.stack.wait_status(inc["id"], "triaged", timeout=30)

    def test_a_plan_made_on_an_empty_table_does_not_outlive_its_growth(self):
        db = self.stack.database
        for setting in ("session_preload_libraries = 'auto_explain'",
                        "auto_explain.log_min_duration = 0", "auto_explain.log_analyze = on",
                        "auto_explain.log_nested_statements = on",
                        "auto_explain.log_level = 'warning'"):
            self.stack.sql(f'ALTER DATABASE "{db}" SET {setting}')
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        # no ANALYZE behind the test's back: only the store's own may help
        # (before any enricher: nothing was claimed yet)
        self.stack.sql("ALTER TABLE incidents SET (autovacuum_enabled = off)")
        self.stack.start_enricher(llm="rules")
        for n in range(8):  # more than five executions: PostgreSQL settles on a plan
            self.triage_one(n)
        for text in (self.CLAIM, self.FK_CHECK):
            first = self.plan_after(text, 0)
            self.assertIsNotNone(first, text)
            self.assertIn("Seq Scan on incidents", first,
                          "on a nearly empty table the plan reads it whole; if the planner "
                          "stopped doing so, this test no longer tests anything")
        # The table grows by 30,000 rows not yet due (no DDL, no ANALYZE but the store's).
        self.stack.sql("INSERT INTO incidents (request_id, title, description, fingerprint,"
                       " next_attempt_at) SELECT 'later-' || g, 'later ' || g, 'not due yet',"
                       " md5('later-' || g), now() + interval '1 day'"
                       " FROM generate_series(1, 30000) g")
        with open(self.pg.log, errors="replace") as f:
            since = len(f.read())
        count = iter(range(100, 10000))

        def indexed():
            self.triage_one(next(count))
            plans = [self.plan_after(t, since) for t in (self.CLAIM, self.FK_CHECK)]
            return all(p is not None and "Seq Scan on incidents" not in p for p in plans) \
                and plans
        claim, check = wait_for(indexed, 30, "a claim and an event check planned for the "
                                "grown table")
        self.assertIn("incidents_due_order", claim, claim)
        self.assertIn("incidents_pkey", check, check)
        self.assertIn("planner statistics: incidents grew", self.stack.procs["store"].text())


if __name__ == "__main__":
    unittest.main()
