"""Where PostgreSQL's time goes in a benchmark run: the e2e run at 1,000/s (or the triage
backlog) on a harness PostgreSQL with pg_stat_statements and auto_explain (plans of
statements over 60 ms, nested ones too, e.g. foreign-key checks); prints the statements by
total time and copies the server log (the plans) to /tmp/prof/pg-<run>.log.

    TRIAGE_SOURCE_DIR=$PWD TRIAGE_BIN_DIR=$PWD/build/bin python3 bench/profile_pg.py e2e|triage

Experiments (never in make bench): CUSTOM=1 sets plan_cache_mode=force_custom_plan on the
bench database, DROP_GIN=1 drops the three text indexes after the store migrated
(DROP_GIN=trgm: the trigram one)."""
import os, sys, json, subprocess
sys.path.insert(0, os.environ["TRIAGE_SOURCE_DIR"] + "/tests")
sys.path.insert(0, os.environ["TRIAGE_SOURCE_DIR"] + "/bench")
from harness.pg import Postgres
from harness.util import wait_for
import bench

which = sys.argv[1] if len(sys.argv) > 1 else "e2e"
pg = Postgres(fsync=True)
with open(os.path.join(pg.data, "postgresql.conf"), "a") as f:
    f.write("shared_preload_libraries = 'pg_stat_statements,auto_explain'\n"
            "pg_stat_statements.max = 2000\npg_stat_statements.track = all\n"
            "auto_explain.log_min_duration = '60ms'\nauto_explain.log_analyze = on\n"
            "auto_explain.log_buffers = on\nauto_explain.log_nested_statements = on\n"
            "log_min_messages = info\nlog_autovacuum_min_duration = 0\n")
pg.start()
if os.environ.get("CUSTOM"):
    # experiment only: every session of the bench database plans each execution afresh
    orig_c = bench.bench_stack
    def patched_c(name, pgx):
        st = orig_c(name, pgx)
        subprocess.run(["psql", pgx.url(), "-qc", f'ALTER DATABASE "{st.database}" SET plan_cache_mode = force_custom_plan'], check=True)
        print("plan_cache_mode = force_custom_plan", flush=True)
        return st
    bench.bench_stack = patched_c
def migrated(st):
    try:
        return st.sql("SELECT to_regclass('incidents_text_trgm') IS NOT NULL")[0][0] in (True, "t")
    except Exception:
        return False
if os.environ.get("DROP_GIN"):
    # experiment only: the same run without the text indexes a status update re-inserts into
    orig = bench.bench_stack
    def patched(name, pgx):
        st = orig(name, pgx)
        start_store = st.start_store
        def start_store2(*a, **kw):
            r = start_store(*a, **kw)
            wait_for(lambda: migrated(st), 60, "the store's migrations")
            if os.environ["DROP_GIN"] == "trgm":
                st.sql("DROP INDEX incidents_text_trgm")
            else:
                st.sql("DROP INDEX incidents_text_trgm; DROP INDEX incidents_search; "
                       "DROP INDEX incidents_search_remembered")
            print("dropped the GIN indexes:", os.environ["DROP_GIN"], flush=True)
            return r
        st.start_store = start_store2
        return st
    bench.bench_stack = patched
try:
    subprocess.run(["psql", pg.url(), "-qc", "CREATE EXTENSION pg_stat_statements"], check=True)
    if which == "e2e":
        print(bench.end_to_end(pg, 1000, 10))
    else:
        print(bench.triage_throughput(pg, int(os.environ.get("BACKLOG", "20000"))))
    q = ("SELECT calls, round(total_exec_time::numeric,0) tot_ms, round(mean_exec_time::numeric,3) mean_ms,"
         " round(max_exec_time::numeric,1) max_ms, rows, shared_blks_hit+shared_blks_read blks, wal_bytes,"
         " left(regexp_replace(query, '\\s+', ' ', 'g'), 110) q FROM pg_stat_statements"
         " ORDER BY total_exec_time DESC LIMIT 14")
    print(subprocess.run(["psql", pg.url(), "-c", q], capture_output=True, text=True).stdout)
    os.makedirs("/tmp/prof", exist_ok=True)
    subprocess.run(["cp", pg.log, f"/tmp/prof/pg-{which}.log"])
finally:
    pg.destroy()
