/* store_analyze: see store_analyze.h. Why the store does this and not only autovacuum:
 * PostgreSQL keeps a cached plan until the table's statistics change, and a cached plan
 * made while incidents was nearly empty reads the whole table. That holds for our own
 * prepared statements (one made on an empty table read all of it for every claim once it
 * had grown: at 1,000 incidents/s triage fell 25 s behind within the first minute) and
 * for the queries PostgreSQL runs itself, such as the foreign-key check of every
 * incident_events row (a sequential scan: at 18,000 rows 1.4 ms per event, found with
 * auto_explain in the e2e benchmark). Autovacuum's ANALYZE comes at most once a minute
 * (autovacuum_naptime) and may be off; this one comes within a second of the doubling,
 * and costs one ANALYZE per doubling: about twenty over a table's first million rows.
 *
 * DESIGN (threads): a store_chore (its own thread and connection); nothing shared. */
#include "store_analyze.h"

#include <stdlib.h>

#include "store_db.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define STORE_ANALYZE_EVERY_MS 1000
#define STORE_ANALYZE_MIN_ROWS 1000 /* below this every plan reads little anyway */
#define STORE_ANALYZE_TIMEOUT_MS (10L * 60 * 1000) /* at a million rows: seconds */

/* reltuples is -1 until the first ANALYZE or VACUUM; the live count is the cumulative
 * statistics' (reported by each backend within a second or so of its commits) */
static const char store_sql_growth[] =
	"SELECT greatest(c.reltuples, 0)::bigint, pg_stat_get_live_tuples(c.oid)"
	" FROM pg_class c WHERE c.oid = 'incidents'::regclass";

static void store_analyze_round(void *arg, store_db *db, const atomic_bool *stop)
{
	(void)arg;
	(void)stop;
	PGresult *res = NULL;
	if (store_db_ensure(db) != TR_OK || store_db_exec(db, store_sql_growth, 0, NULL, &res) != TR_OK)
		return;
	long long known = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
	long long live = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 1)) : 0;
	PQclear(res);
	if (live < STORE_ANALYZE_MIN_ROWS || live <= 2 * known)
		return;
	int64_t t0 = tr_mono_ms();
	if (store_db_exec(db, "ANALYZE incidents", 0, NULL, NULL) != TR_OK) {
		tr_warn("planner statistics: ANALYZE incidents failed: %s", store_db_errmsg(db));
		return;
	}
	tr_info("planner statistics: incidents grew from %lld to %lld rows: analyzed in %lld ms",
		known, live, (long long)(tr_mono_ms() - t0));
}

int store_analyze_start(const store_config *cfg, store_analyze **out)
{
	store_db *db = store_db_new(cfg->database_url, STORE_ANALYZE_TIMEOUT_MS, "analyze",
				    STORE_DB_DURABLE);
	if (!db)
		return TR_ERR_NOMEM;
	int rc = store_chore_start("analyze", STORE_ANALYZE_EVERY_MS, store_analyze_round, NULL,
				   db, out);
	if (rc != TR_OK)
		store_db_free(db);
	return rc;
}

void store_analyze_stop(store_analyze *a)
{
	store_chore_stop(a);
}
