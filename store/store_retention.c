/* store_retention: the retention thread. Each batch claims the oldest resolved
 * incidents past the age with FOR UPDATE SKIP LOCKED (a responder touching one at that
 * moment is skipped, not waited for), archives them if asked, and deletes them (their
 * timeline and occurrences go with them, ON DELETE CASCADE), in one short transaction,
 * so ingest is never blocked for longer than one batch's row locks on old rows.
 *
 * DESIGN (threads): a store_chore (its own thread and connection) every
 * TRIAGE_RETENTION_INTERVAL_MS; nothing else is shared. */
#include "store_retention.h"

#include <stdio.h>
#include <stdlib.h>

#include "store_chore.h"
#include "store_db.h"
#include "store_stmt.h"
#include "tr_err.h"
#include "tr_log.h"

/* $1 age in days, $2 batch size, $3 archive (boolean). */
const store_stmt store_stmt_retention = {"retention_batch",
	"WITH victims AS ("
	"  SELECT id FROM incidents"
	"  WHERE state = 'resolved' AND resolved_at < now() - make_interval(days => $1::int)"
	"  ORDER BY resolved_at LIMIT $2::int FOR UPDATE SKIP LOCKED),"
	" archived AS ("
	"  INSERT INTO incidents_archive (id, resolved_at, doc)"
	"  SELECT i.id, i.resolved_at, jsonb_build_object("
	"    'incident', triage_incident_json(i),"
	"    'timeline', (SELECT coalesce(json_agg(triage_event_json(e) ORDER BY e.id), '[]')"
	"                 FROM incident_events e WHERE e.incident_id = i.id))"
	"  FROM incidents i JOIN victims v ON v.id = i.id WHERE $3::boolean"
	"  ON CONFLICT (id) DO NOTHING RETURNING 1),"
	" deleted AS (DELETE FROM incidents i USING victims v WHERE i.id = v.id RETURNING 1)"
	"SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM archived)"};

long store_retention_sweep(store_db *db, const store_config *cfg, const atomic_bool *stop)
{
	char days[24], batch[24];
	snprintf(days, sizeof days, "%ld", cfg->retention_days);
	snprintf(batch, sizeof batch, "%ld", cfg->retention_batch);
	const char *params[] = {days, batch, cfg->retention_archive ? "true" : "false"};
	long total = 0, archived = 0;

	while (!atomic_load(stop)) {
		PGresult *res = NULL;
		if (store_db_ensure(db) != TR_OK)
			return -1;
		/* one statement: its own transaction (claim, archive, delete, commit) */
		int rc = store_db_exec_prepared(db, &store_stmt_retention, 3, params, &res);
		if (rc != TR_OK) {
			tr_warn("retention: batch failed (%s): %s", tr_strerror(rc),
				store_db_errmsg(db));
			return -1;
		}
		long n = atol(PQgetvalue(res, 0, 0));
		archived += atol(PQgetvalue(res, 0, 1));
		PQclear(res);
		total += n;
		if (n < cfg->retention_batch)
			break;
	}
	if (total > 0)
		tr_info("retention: deleted %ld resolved incidents older than %ld days (%ld archived)",
			total, cfg->retention_days, archived);
	return total;
}

static void store_retention_round(void *arg, store_db *db, const atomic_bool *stop)
{
	store_retention_sweep(db, arg, stop);
}

int store_retention_start(const store_config *cfg, store_retention **out)
{
	*out = NULL;
	if (cfg->retention_days <= 0)
		return TR_OK;
	store_db *db = store_db_new(cfg->database_url, cfg->db_timeout_ms, "retention",
				    STORE_DB_DURABLE);
	if (!db)
		return TR_ERR_NOMEM;
	/* the configuration outlives the store's threads (main.c) */
	int rc = store_chore_start("retention", cfg->retention_interval_ms, store_retention_round,
				   (void *)cfg, db, out);
	if (rc != TR_OK) {
		store_db_free(db);
		return rc;
	}
	tr_info("retention: resolved incidents older than %ld days are %s, %ld at a time",
		cfg->retention_days, cfg->retention_archive ? "archived and deleted" : "deleted",
		cfg->retention_batch);
	return TR_OK;
}

void store_retention_stop(store_retention *r)
{
	store_chore_stop(r);
}
