"""A 503 means nothing was stored, or a retry of it lands on the same incident: issue 11's
table lock (4 s, longer than the deadline), and a COMMIT whose answer never reached the
gateway (the store died after sending it); the store killed under load is in
test_honest_503_store_killed. Clients here send no Idempotency-Key, as Alertmanager
does. An action answered 503 does not happen either."""

import os
import signal
import subprocess
import threading
import unittest

from harness import PipelineTest, wait_for


class Honest503Base(PipelineTest):
    """Helpers shared with test_honest_503_store_killed."""

    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway(env={"TRIAGE_STORE_TIMEOUT_MS": "1500"})
        self.stack.wait_ready()

    def post(self, body, timeout=15):
        return self.stack.request("POST", "/incidents", body, timeout=timeout)

    def retry_until_accepted(self, body):
        """What a client does with a 503: send the same body again until it is taken."""
        got = []
        wait_for(lambda: got.append(self.post(body)) or got[-1].status == 202, 60,
                 f"a retry of {body['title']!r} to be accepted")
        return got[-1].json["id"]

    def rows_titled(self, title):
        return self.rows_by_title([title])[title]

    def rows_by_title(self, titles):
        """{title: [ids of the rows with that title, ascending]}, in one query (a check
        over thousands of bodies must not cost thousands of psql runs)."""
        out = {t: [] for t in titles}
        if not out:
            return out
        values = ",".join("('%s')" % t.replace("'", "''") for t in out)
        for title, iid in self.stack.sql(
                f"SELECT i.title, i.id FROM incidents i JOIN (VALUES {values}) v(t)"
                " ON i.title = v.t ORDER BY i.id"):
            out[title].append(int(iid))
        return out

    def store_killed_under_load(self, clients, prefix, acks_before, acks_after,
                                before_kill=None):
        """Clients POST distinct bodies (no Idempotency-Key) without pause; after
        acks_before 202s (and before_kill()), the store is SIGKILLed, restarted once
        clients have had 503s, and the load goes on for acks_after more 202s. Returns the
        clients' own record: (accepted [(body, id)], refused [body], requests sent)."""
        accepted, refused, lock, stop = [], [], threading.Lock(), threading.Event()
        counter = [0]

        def client(n):
            i = 0
            while not stop.is_set():
                body = {"title": f"{prefix} {n}-{i}", "description": "steady"}
                i += 1
                r = self.post(body)
                with lock:
                    counter[0] += 1
                    if r.status == 202:
                        accepted.append((body, r.json["id"]))
                    elif r.status == 503:
                        refused.append(body)
                    else:
                        raise AssertionError(r)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(accepted) >= acks_before, 60,
                     f"{acks_before} acknowledged submits")
            if before_kill:
                before_kill()
            self.stack.kill("store")
            wait_for(lambda: len(refused) >= clients, 60, "503s while the store is down")
            self.stack.start_store()
            self.stack.wait_ready()
            n = len(accepted)
            wait_for(lambda: len(accepted) >= n + acks_after, 60, "submits accepted again")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        return accepted, refused, counter[0]

    def check_acknowledged_and_refused(self, accepted, refused):
        """From the clients' record: each 202 names its own row, stored once; each 503
        as check_retries; nothing else stored. Returns check_retries' count."""
        rows = self.rows_by_title([body["title"] for body, _ in accepted])
        for body, iid in accepted:
            self.assertEqual(rows[body["title"]], [iid], body)
        stored_before = self.check_retries(refused)
        total = int(self.stack.scalar("SELECT count(*) FROM incidents"))
        self.assertEqual(total, len(accepted) + len(refused))
        return stored_before

    def check_retries(self, refused):
        """Every 503'd body: at most one row before its retry, exactly one after, and the
        retry answers with that row. Returns how many had been stored before the retry."""
        stored_before = 0
        # each body's rows before any retry are its rows before its own retry: bodies
        # are distinct, and a retry stores only its own
        titles = [body["title"] for body in refused]
        before = self.rows_by_title(titles)
        retried = {}
        for body in refused:
            self.assertLessEqual(len(before[body["title"]]), 1, body)
            stored_before += len(before[body["title"]])
            retried[body["title"]] = self.retry_until_accepted(body)
        after = self.rows_by_title(titles)
        for body in refused:
            rid = retried[body["title"]]
            self.assertEqual(after[body["title"]], [rid], body)
            if before[body["title"]]:
                self.assertEqual(before[body["title"]], [rid], body)
        return stored_before


class Honest503Test(Honest503Base):
    def test_table_locked_longer_than_the_deadline(self):
        before = self.stack.submit(title="acknowledged during the lock")["id"]
        url = self.stack.db_url
        locker = subprocess.Popen(
            ["psql", "-X", "-q", "-d", url, "-c",
             "BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: locker.poll() is None and locker.kill())
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'incidents' AND l.mode = 'AccessExclusiveLock'"
            " AND l.granted") == "1", 20, "the table lock")
        results, lock = [], threading.Lock()

        def client(i):
            body = {"title": f"locked {i}", "description": "during the lock"}
            r = self.post(body)
            with lock:
                results.append((body, r.status))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        ack = self.stack.request("POST", f"/incidents/{before}/acknowledge", timeout=15)
        for t in threads:
            t.join(30)
        self.assertEqual(locker.wait(30), 0, locker.stderr.read())
        # an action answered 503 did not happen either, not even once the lock was gone
        self.assertEqual(ack.status, 503, ack)
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'active'") == "0", 20,
            "no statement left running")
        self.assertEqual(self.stack.incident(before)["state"], "open")
        statuses = [s for _, s in results]
        self.assertEqual(len(statuses), 8)
        self.assertTrue(set(statuses) <= {202, 503}, statuses)
        refused = [b for b, s in results if s == 503]
        # The lock outlasts the deadline: nothing answered 503 may be in the table.
        for body in refused:
            self.assertEqual(self.rows_titled(body["title"]), [], body)
        self.assertEqual(self.check_retries(refused), 0)
        print(f"\ntable lock: {len(refused)} of 8 answered 503, none stored", flush=True)

    def test_commit_outcome_unknown(self):
        """The store dies after sending COMMIT: the row is stored behind a 503. The
        client's retry of the same body gets that incident. (A store that merely gives
        up on a slow COMMIT disconnects, and PostgreSQL then aborts it.)"""
        self.stack.sql(
            "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$;"
            " CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON incidents"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            " WHEN (NEW.title LIKE 'slow commit%') EXECUTE FUNCTION slow_commit()")
        body = {"title": "slow commit 1", "description": "answered late"}
        got = []
        t = threading.Thread(target=lambda: got.append(self.post(body)))
        t.start()
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'active' AND query = 'COMMIT'") == "1", 20, "the COMMIT to be sent")
        store = self.stack.procs["store"]
        store.send_signal(signal.SIGSTOP)  # frozen: its connection stays open
        try:
            t.join(30)
            self.assertEqual(got[0].status, 503, got[0])
            wait_for(lambda: len(self.rows_titled(body["title"])) == 1, 30,
                     "the COMMIT to finish")
        finally:
            store.deliberate_signal = signal.SIGKILL  # killed on purpose (stopped: kill() would wait)
            store.send_signal(signal.SIGKILL)
            store.send_signal(signal.SIGCONT)
            store.popen.wait(30)
        # a fresh gateway too: after the store was frozen (SIGSTOP) and then killed, the
        # gateway's REQ sockets sometimes never reach its replacement (1 run in 3 here:
        # requests time out for 30 s while its SUB socket reconnects; a fresh gateway
        # connects at once). Reported; not what this test is about.
        self.stack.stop("gateway")
        self.stack.start_store()
        self.stack.start_gateway(env={"TRIAGE_STORE_TIMEOUT_MS": "1500"})
        self.stack.wait_ready()
        stored = self.rows_titled(body["title"])
        r = self.post(body)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["id"], stored[0])
        self.assertEqual(self.rows_titled(body["title"]), stored)
        # A different body is a new incident, and an identical body sent after its
        # earlier copy was answered 202 is too (the gateway confirmed that 202).
        other = {"title": "fast 1", "description": "x"}
        first = self.post(other)
        second = self.post(other)
        self.assertEqual((first.status, second.status), (202, 202))
        third = self.post({"title": "fast 2", "description": "x"})
        self.assertEqual(third.status, 202)
        again = self.post(other)
        self.assertEqual(again.status, 202)
        self.assertEqual(len({first.json["id"], second.json["id"], again.json["id"]}), 3)


if __name__ == "__main__":
    unittest.main()
