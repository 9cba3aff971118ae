"""The triage path in batches (issue 8): a backlog is claimed many rows per statement and
its results applied many per transaction, yet every incident is dispatched once,
triaged once, and its timeline stays in order; and a batch of results with one the
database refuses applies all the others."""

import os
import re
import subprocess
import unittest

from harness import BIN_DIR, PipelineTest, wait_for

PROBE = os.path.join(BIN_DIR, "triage-probe")
BACKLOG = 3000

BACKLOG_SQL = (
    "INSERT INTO incidents (request_id, title, description, source, service, fingerprint)"
    " SELECT 'backlog-' || g, (ARRAY['Disk almost full on ', 'High latency on ',"
    " 'Connection pool exhausted on ', 'Pods crash looping on '])[1 + g % 4] || 'host-' || g,"
    " 'seen by the monitoring', 'alertmanager', 'svc-' || (g % 7), md5('backlog-' || g)"
    " FROM generate_series(1, {n}) g")


class TriageBatchTest(PipelineTest):
    def test_a_backlog_is_dispatched_and_triaged_once_each_in_order(self):
        self.stack.start_store(env={"TRIAGE_LOG_LEVEL": "debug"})
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.stack.sql(BACKLOG_SQL.format(n=BACKLOG))
        for i in range(2):
            self.stack.start_enricher(f"enricher{i + 1}", llm="rules",
                                      env={"TRIAGE_ENRICHER_SLOTS": "32"})
        wait_for(lambda: self.stack.scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM incidents WHERE status IN "
            "('submitted', 'processing'))") == "t", 180, "the backlog to be triaged",
            interval=0.5)
        # once each: one dispatch, one triage, and nothing released or expired
        per_kind = dict(self.stack.sql(
            "SELECT kind, count(*) FROM incident_events GROUP BY kind"))
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FILTER (WHERE status = 'triaged' AND attempt = 1) FROM incidents"),
            str(BACKLOG), per_kind)
        self.assertEqual(per_kind, {"dispatched": str(BACKLOG), "triaged": str(BACKLOG)},
                         per_kind)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM (SELECT incident_id FROM incident_events"
            " GROUP BY incident_id HAVING count(*) <> 2) x"), "0")
        # in order: each incident's dispatch before its triage, by event id and time
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incident_events t JOIN incident_events d"
            " ON d.incident_id = t.incident_id AND d.kind = 'dispatched'"
            " WHERE t.kind = 'triaged' AND (t.id < d.id OR t.at < d.at)"), "0")
        # and in batches: claims and commits of more than one row
        log = self.stack.procs["store"].text()
        claims = [int(n) for n in re.findall(r"similar incidents for (\d+) jobs", log)]
        applied = [int(n) for n in re.findall(r"results: (\d+) applied in [\d.]+ ms \(ok\)",
                                              log)]
        self.assertEqual((sum(claims), sum(applied)), (BACKLOG, BACKLOG))
        self.assertGreater(max(claims), 1, claims)
        self.assertGreater(max(applied), 1, applied)
        self.assertLess(len(applied), BACKLOG)

    def probe_result(self, inc_id, token, summary):
        r = subprocess.run([PROBE, "result", self.stack.env["TRIAGE_RESULTS_URL"], str(inc_id),
                            "1", "triaged", "high", "storage", summary, str(token)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_a_refused_result_fails_alone_in_its_batch(self):
        # The applier waits at a lock below while the test sends five results: on a busy
        # machine that took longer than the default database timeout (2.5 s), the first
        # result timed out alone and all six went in one batch.
        store = self.stack.start_store(env={"TRIAGE_LOG_LEVEL": "debug",
                                            "TRIAGE_DB_TIMEOUT_MS": "60000"})
        self.stack.start_gateway()
        self.stack.wait_ready()
        ids = [self.stack.submit(title=f"disk full {i}")["id"] for i in range(6)]
        # Dispatched as an enricher would have it (none runs here): processing, a token.
        self.stack.sql("UPDATE incidents SET status = 'processing', attempt = 1,"
                       " lease_deadline = now() + interval '1 hour', lease_token = 1000 + id")
        # The database refuses one summary (a trigger stands in for any refusal).
        self.stack.sql(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.summary = 'poison' THEN RAISE EXCEPTION 'refused'; END IF;"
            " RETURN NEW; END $$;"
            " CREATE TRIGGER refuse_poison BEFORE UPDATE ON incidents FOR EACH ROW"
            " EXECUTE FUNCTION refuse_poison()")
        # Hold the applier on a lock with the first result, so the next five queue up
        # behind it and go in one batch.
        lock = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                                 self.pg.url(self.stack.database)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lock.kill)
        lock.stdin.write("BEGIN; LOCK TABLE incidents IN SHARE MODE; SELECT 'locked';\n")
        lock.stdin.flush()
        self.assertEqual(lock.stdout.readline().strip(), "locked")
        self.probe_result(ids[0], 1000 + ids[0], "the first, held at the lock")
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'incidents' AND NOT l.granted") != "0", 30,
            "the applier to wait for the lock")
        for i in ids[1:]:
            self.probe_result(i, 1000 + i, "poison" if i == ids[3] else f"disk {i} full")
        wait_for(lambda: store.text().count("queued") >= 6, 30, "all six results queued")
        lock.stdin.write("COMMIT;\n")
        lock.stdin.close()
        self.assertEqual(lock.wait(30), 0)
        wait_for(lambda: f"incident={ids[3]} result not applied" in store.text(), 30,
                 "the refused result to be reported")
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE status = 'triaged'") == "5", 30,
            "the other five to be triaged")
        self.assertEqual(self.stack.incident(ids[3])["status"], "processing")
        log = store.text()
        self.assertRegex(log, r"results: 5 applied in [\d.]+ ms \(database\)")
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incident_events WHERE kind = 'triaged'"), "5")


if __name__ == "__main__":
    unittest.main()
