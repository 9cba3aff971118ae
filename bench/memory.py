"""make bench, part 4: memory at a million incidents. Loads TRIAGE_BENCH_MEMORY_ROWS
(1,000,000) realistic incidents (bench/incidents_gen.py) with COPY into a database at the
schema before migration 011, applies 011 as an upgrade would (timed: the table rewrite
for search_tsv and three GIN index builds), then through the real gateway and store
measures p50/p99 of GET /incidents/{id}/similar, of GET /incidents?q= for a common and a
rare word, of the list, each filter, a deep cursor page, detail, /stats and the actions,
and prints each statement's plan (auto_explain of the store's own statements). Target:
each p99 <= 50 ms.
"""

import base64
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

from harness import DEV_KEY, SOURCE_DIR, Stack, wait_for

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import incidents_gen  # noqa: E402

SQL_DIR = os.path.join(SOURCE_DIR, "sql")


def migrations(upto_excl):
    return sorted(f for f in os.listdir(SQL_DIR)
                  if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < upto_excl)


def psql(pg, db, *args, stdin=None):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.socket_url(db),
                        *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql {args}: {r.stderr}")
    return r.stdout


def timed(fn):
    t0 = time.monotonic()
    fn()
    return round(time.monotonic() - t0, 1)


def percentiles(samples):
    s = sorted(samples)
    pick = lambda q: round(s[min(len(s) - 1, int(q * len(s)))], 1)  # noqa: E731
    return {"n": len(s), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(s[-1], 1)}


def latencies(port, paths):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    try:
        for p in paths:
            t0 = time.monotonic()
            conn.request("GET", p, headers={"X-API-KEY": DEV_KEY})
            r = conn.getresponse()
            r.read()
            out.append((time.monotonic() - t0) * 1000)
            if r.status != 200:
                raise RuntimeError(f"GET {p}: {r.status}")
    finally:
        conn.close()
    return out


def cursor_for(incident_id):
    """The list's cursor continuing below incident_id (store_params.c: base64url of the
    id in decimal, unpadded)."""
    raw = str(incident_id).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def timed_post(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        t0 = time.monotonic()
        conn.request("POST", path, body=b"{}", headers={"X-API-KEY": DEV_KEY,
                                                       "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status not in (200, 409):
            raise RuntimeError(f"POST {path}: {r.status}")
        return (time.monotonic() - t0) * 1000
    finally:
        conn.close()


def plan_of(pg, port, path, method="GET"):
    """The plans auto_explain logged for the store's statements while path was served."""
    with open(pg.log, errors="replace") as f:
        start = len(f.read())
    if method == "GET":
        latencies(port, [path])
    else:
        timed_post(port, path)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        with open(pg.log, errors="replace") as f:
            text = f.read()[start:]
        if "plan:" in text:
            break
        time.sleep(0.05)  # polling the server's log file, not synchronising processes
    return plan_lines(text, keep_query=True) or "(no plan logged)"


def last_plan(pg, marker):
    with open(pg.log, errors="replace") as f:
        log = f.read()
    at = log.rfind(marker)
    if at < 0:
        return "(no plan logged)"
    start = log.rfind("duration:", 0, at)
    nxt = log.find("duration:", at)
    return plan_lines(log[start:nxt if nxt > 0 else len(log)], keep_query=False)


def plan_lines(text, keep_query):
    """auto_explain's plan lines out of a stretch of the server log (its other lines,
    which start with a date, dropped; the query's text only when keep_query)."""
    return "\n".join(l for l in text.splitlines() if l.strip() and not l[:4].isdigit()
                     and (keep_query or "Query Text" not in l))


def heap_cached_mb(pg, db):
    """How much of the incidents table's heap is in the kernel's page cache (fincore, from
    util-linux), as (cached MB, size MB), or None where fincore cannot tell. The
    million-row figures depend on it: a heap page not cached is a disk read, and on a
    virtual machine whose host reclaims its page cache the table does not stay cached."""
    path = psql(pg, db, "-At", "-c", "SELECT pg_relation_filepath('incidents')").strip()
    r = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE",
                        os.path.join(pg.data, path)], capture_output=True, text=True)
    try:
        res, size = (int(v) for v in r.stdout.split())
    except ValueError:
        return None
    return [round(res / 1048576), round(size / 1048576)]


class AutovacuumWatch:
    """Samples, once a second while the queries run, which autovacuum workers are busy
    (pg_stat_activity): after the upgrade rewrote a million rows, autovacuum vacuums and
    analyzes the table for a while, and queries measured meanwhile share the machine with
    it. Seconds seen per worker's statement, so the figures say whether it overlapped."""

    def __init__(self, pg, db):
        self.pg, self.db, self.seen = pg, db, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(1.0):
            try:
                rows = psql(self.pg, self.db, "-At", "-c",
                            "SELECT query FROM pg_stat_activity"
                            " WHERE backend_type = 'autovacuum worker' AND query <> ''")
            except RuntimeError:
                continue
            for q in rows.splitlines():
                self.seen[q] = self.seen.get(q, 0) + 1

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.seen


def memory(pg, rows=None, samples=300):
    rows = rows or int(os.environ.get("TRIAGE_BENCH_MEMORY_ROWS", "1000000"))
    stack = Stack("bench-memory", pg, env={"TRIAGE_LOG_LEVEL": "warn"})
    stack.env["TRIAGE_DATABASE_URL"] = pg.socket_url(stack.database)
    db = stack.database
    try:
        res = {"rows": rows, "loadavg_before": open("/proc/loadavg").read().split()[:3]}
        # The schema before 011, recorded as the store records it.
        psql(pg, db, "-c", "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
             " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for f in migrations(11):
            psql(pg, db, "-f", os.path.join(SQL_DIR, f), "-c",
                 f"INSERT INTO schema_migrations (version, name) VALUES ({int(f[:3])}, '{f}')")

        def load():
            gen = subprocess.Popen([sys.executable, incidents_gen.__file__, str(rows), "1",
                                    "pre011"], stdout=subprocess.PIPE, text=True)
            psql(pg, db, "-c", f"COPY incidents ({incidents_gen.COLUMNS_PRE011}) FROM STDIN",
                 stdin=gen.stdout)
            gen.stdout.close()
            if gen.wait() != 0:
                raise RuntimeError("incidents_gen failed")
        res["copy_s"] = timed(load)
        res["upgrade_011_s"] = timed(lambda: psql(
            pg, db, "-f", os.path.join(SQL_DIR, "011_memory.sql"), "-c",
            "INSERT INTO schema_migrations (version, name) VALUES (11, '011_memory.sql')"))
        res["analyze_s"] = timed(lambda: psql(pg, db, "-c", "ANALYZE incidents"))
        res["table_mb"] = int(psql(pg, db, "-At", "-c",
                                   "SELECT pg_table_size('incidents') / 1048576").strip())
        res["index_mb"] = json.loads(psql(pg, db, "-At", "-c",
            "SELECT json_object_agg(indexrelname, pg_relation_size(indexrelid) / 1048576)"
            " FROM pg_stat_user_indexes WHERE relname = 'incidents'"))
        print(json.dumps({"memory_load": res}), flush=True)

        for setting in ("session_preload_libraries = 'auto_explain'",
                        "auto_explain.log_min_duration = 0",
                        "auto_explain.log_level = 'warning'"):
            psql(pg, db, "-c", f'ALTER DATABASE "{db}" SET {setting}')
        # the store applies the later migrations at start: on a million rows, minutes
        t0 = time.monotonic()
        store = stack.start_store()
        stack.start_gateway()
        stack.wait_ready(timeout=1800)
        assert store.alive(), store.text()[-2000:]
        res["upgrade_rest_s"] = round(time.monotonic() - t0, 1)
        print(json.dumps({"memory_upgrade_rest_s": res["upgrade_rest_s"]}), flush=True)
        out = {"heap_cached_mb_before": heap_cached_mb(pg, db)}
        watch = AutovacuumWatch(pg, db)
        rnd = random.Random(7)
        ids = [rnd.randrange(rows // 2, rows) for _ in range(samples)]
        latencies(stack.http_port, [f"/incidents/{i}/similar" for i in ids[:20]])  # warm
        out["similar"] = percentiles(latencies(stack.http_port,
                                               [f"/incidents/{i}/similar" for i in ids]))
        hosts = [f"cache-{s[:4]}-{n:02d}" for s in ("auth", "ledg", "ship") for n in (3, 17)]
        out["q_common"] = percentiles(latencies(
            stack.http_port, [f"/incidents?q={w}&limit=50" for w in
                              ("disk", "pool", "timeout", "error")] * (samples // 4)))
        out["q_rare"] = percentiles(latencies(
            stack.http_port, [f"/incidents?q={h}&limit=50" for h in hosts] * (samples // 6)))
        # Every other query the dashboard makes, each against its target (p99 <= 50 ms):
        # the list, each filter, a deep cursor page, detail, stats, each action. Each
        # kind's last plan is printed below.
        deep = ids[0]
        kinds = {
            "list": ["/incidents?limit=50"],
            "filter_status": ["/incidents?status=triaged&limit=50",
                              "/incidents?status=failed&limit=50"],
            "filter_severity": [f"/incidents?severity={v}&limit=50"
                                for v in ("critical", "high", "medium", "low")],
            "filter_category": [f"/incidents?category={v}&limit=50"
                                for v in ("database", "security", "dependency", "other")],
            "filter_state": [f"/incidents?state={v}&limit=50"
                             for v in ("open", "acknowledged", "resolved")],
            "cursor_page": [f"/incidents?limit=50&cursor={cursor_for(i)}"
                            for i in (deep, rows // 3, rows // 10)],
            "detail": [f"/incidents/{i}" for i in ids[:30]],
            "stats": ["/stats"],
        }
        for name, paths in kinds.items():
            reps = max(1, samples // len(paths))
            out[name] = percentiles(latencies(stack.http_port, paths * reps))
        actions = []
        for i in ids[: samples // 3]:
            for verb in ("acknowledge", "resolve"):
                actions.append(timed_post(stack.http_port, f"/incidents/{i}/{verb}"))
        out["actions"] = percentiles(actions)
        # Dispatch with similar incidents attached: a burst of submits triaged by the
        # rules; created -> dispatched from the timeline's own timestamps.
        stack.start_enricher("rules", env={"TRIAGE_LLM_BACKEND": "rules",
                                           "TRIAGE_ENRICHER_SLOTS": "16"})
        first = rows + 1
        for i in range(200):
            t = incidents_gen.TEMPLATES[i % len(incidents_gen.TEMPLATES)][0]
            stack.submit(title=t.format(host=f"db-paym-{i % 60:02d}", service="payments",
                                        region="eu-west-1", ver="v1.2.3"),
                         description="bench burst", service="payments")
        wait_for(lambda: stack.scalar("SELECT count(*) FROM incidents WHERE id >= %d AND"
                                      " status = 'triaged'" % first) == "200", 600,
                 "the burst to be triaged")
        lat = [float(v[0]) for v in stack.sql(
            "SELECT extract(epoch FROM d.at - c.at) * 1000 FROM incident_events c"
            " JOIN incident_events d ON d.incident_id = c.incident_id AND d.kind = 'dispatched'"
            f" WHERE c.kind = 'created' AND c.incident_id >= {first}")]
        out["dispatch"] = percentiles(lat)
        out["heap_cached_mb_after"] = heap_cached_mb(pg, db)
        out["autovacuum_s"] = watch.finish()
        print(json.dumps({"memory_queries": out}), flush=True)
        for name, marker in (("similar", "c.search_tsv @@ t.q"),
                             ("q common (disk)", "%disk%"), ("q rare (cache-auth-17)",
                                                            "%cache-auth-17%")):
            print(f"plan, {name}:\n{last_plan(pg, marker)}", flush=True)
        for name, path in (("list", "/incidents?limit=50"),
                           ("filter status=failed", "/incidents?status=failed&limit=50"),
                           ("filter severity=low", "/incidents?severity=low&limit=50"),
                           ("filter category=other", "/incidents?category=other&limit=50"),
                           ("filter state=acknowledged", "/incidents?state=acknowledged&limit=50"),
                           ("cursor page", f"/incidents?limit=50&cursor={cursor_for(deep)}"),
                           ("detail", f"/incidents/{deep}"), ("stats", "/stats")):
            print(f"plan, {name}:\n{plan_of(pg, stack.http_port, path)}", flush=True)
        print(f"plan, action (acknowledge):\n"
              f"{plan_of(pg, stack.http_port, f'/incidents/{ids[-1]}/acknowledge', 'POST')}",
              flush=True)
        return dict(res, **out)
    finally:
        stack.close()
