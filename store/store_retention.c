/* store_retention: the retention thread. Each batch claims the oldest resolved
 * incidents past the age with FOR UPDATE SKIP LOCKED (a responder touching one at that
 * moment is skipped, not waited for), archives them if asked, and deletes them (their
 * timeline and occurrences go with them, ON DELETE CASCADE), in one short transaction,
 * so ingest is never blocked for longer than one batch's row locks on old rows.
 *
 * DESIGN (threads): one thread, owning one PGconn (store_db); it sleeps on a condvar
 * between sweeps so stop wakes it at once. Nothing else is shared. */
#include "store_retention.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store_db.h"
#include "tr_err.h"
#include "tr_log.h"

struct store_retention {
	const store_config *cfg;
	store_db *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
};

/* $1 age in days, $2 batch size, $3 archive (boolean). */
static const char STORE_RETENTION_SQL[] =
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
	"SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM archived)";

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
		int rc = store_db_exec_prepared(db, "retention_batch", STORE_RETENTION_SQL, 3,
						params, &res);
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

static void *store_retention_main(void *arg)
{
	store_retention *r = arg;
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		pthread_mutex_unlock(&r->mu);
		store_retention_sweep(r->db, r->cfg, &r->stop);
		pthread_mutex_lock(&r->mu);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += r->cfg->retention_interval_ms / 1000;
		until.tv_nsec += (r->cfg->retention_interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int store_retention_start(const store_config *cfg, store_retention **out)
{
	int rc = TR_ERR_NOMEM;
	pthread_condattr_t attr;
	store_retention *r = NULL;

	*out = NULL;
	if (cfg->retention_days <= 0)
		return TR_OK;
	r = calloc(1, sizeof *r);
	if (!r)
		goto out;
	r->cfg = cfg;
	r->db = store_db_new(cfg->database_url, cfg->db_timeout_ms, "retention", STORE_DB_DURABLE);
	if (!r->db)
		goto out;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&r->thread, NULL, store_retention_main, r) != 0) {
		rc = TR_ERR_INTERNAL;
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		goto out;
	}
	tr_info("retention: resolved incidents older than %ld days are %s, %ld at a time",
		cfg->retention_days, cfg->retention_archive ? "archived and deleted" : "deleted",
		cfg->retention_batch);
	*out = r;
	r = NULL;
	rc = TR_OK;
out:
	if (r) {
		store_db_free(r->db);
		free(r);
	}
	return rc;
}

void store_retention_stop(store_retention *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	store_db_free(r->db);
	free(r);
}
