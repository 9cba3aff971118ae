/* store_dispatch: the dispatcher/sweeper thread: jobs to enrichers within their free
 * slots, and expired leases back to submitted (or failed after the last attempt).
 *
 * DESIGN: one thread with its own PGconn and the PUSH socket. It sleeps on a
 * condition variable until woken (rows committed, a heartbeat with free slots, a
 * result) or until the next due time / sweep interval. Each pass: if enrichers have
 * credits, claim up to that many due rows with FOR UPDATE SKIP LOCKED, mark them
 * processing with attempt+1 and a lease in one transaction, then push the jobs; every
 * sweep interval also expire leases and build the search data of rows nobody updated
 * (sql/017). With no credits it does not query at all. */
#include "store_dispatch.h"

#include <inttypes.h>
#include <jansson.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "proto_sock.h"
#include "store_db.h"
#include "store_stmt.h"
#include "store_json.h"
#include "store_similar.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define STORE_CLAIM_MAX 256   /* rows claimed per statement */
#define STORE_EXPIRE_MAX 500  /* leases expired per statement */
/* Search data built per sweep for rows ingested without it and not updated (dispatched)
 * this long after: most get it at their dispatch, which rewrites the row anyway. */
#define STORE_SEARCH_FILL_MAX "2000"
#define STORE_SEARCH_FILL_AFTER_MS "5000"
#define STORE_PICKUP_SLACK_MS 1000 /* transit outlives the job's pickup deadline by this */
#define STORE_GATHER_MS 2 /* after a pass, how long credits may gather (see store_gather) */

struct store_dispatch {
	const store_config *cfg;
	store_events *events;
	store_enrichers *enrichers;
	nng_socket jobs;
	store_db *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool woken;         /* under lock */
	atomic_bool stopping;
	int64_t next_sweep_ms;
	int64_t last_stale_warn_ms;
	int64_t last_twin_warn_ms;
	int64_t started_mono, started_wall; /* this process's start, for the reclaim */
};

long store_backoff_ms(long attempt, long base_ms, long cap_ms)
{
	if (attempt < 1)
		attempt = 1;
	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	long v = base_ms;
	for (long i = 1; i < attempt && v < cap_ms; i++)
		v = v > cap_ms / 2 ? cap_ms : v * 2;
	return v < cap_ms ? v : cap_ms;
}

void store_backoff_array(const store_config *cfg, char *out, size_t outlen)
{
	size_t o = 0;
	o += (size_t)snprintf(out + o, outlen - o, "{");
	for (long a = 1; a <= cfg->max_attempts && o < outlen; a++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%ld", a > 1 ? "," : "",
				      store_backoff_ms(a, cfg->retry_backoff_ms,
						       cfg->retry_backoff_max_ms));
	if (o < outlen)
		snprintf(out + o, outlen - o, "}");
}

const store_stmt store_stmt_claim = {"dispatch_claim",
	"WITH c AS (SELECT id FROM incidents WHERE status = 'submitted'"
	" AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT $1"
	" FOR UPDATE SKIP LOCKED),"
	" u AS (UPDATE incidents i SET status = 'processing', attempt = i.attempt + 1,"
	" lease_deadline = now() + $2 * interval '1 millisecond', version = i.version + 1,"
	" lease_token = floor(random() * 9007199254740990)::bigint + 1,"
	" dispatched_via = $4, dispatched_at = now(),"
	" updated_at = now() FROM c WHERE i.id = c.id"
	" RETURNING i.id, i.version, i.status, i.state,"
	" coalesce(i.severity_override, i.severity, '') AS sev,"
	" coalesce(i.category_override, i.category, '') AS cat, i.attempt,"
	" (extract(epoch FROM i.lease_deadline) * 1000)::bigint AS lease_ms,"
	" i.title, i.description, i.source, i.service, i.labels::text AS labels, i.lease_token),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'dispatched', status, attempt, 'store', jsonb_build_object('lease_ms', $2)"
	" FROM u)"
	" SELECT u.*, coalesce((SELECT value FROM settings WHERE name = 'model'), $3),"
	" (SELECT coalesce(max(version), 0) FROM triage_models) FROM u"
	" ORDER BY id"};

static const char store_sql_expire[] =
	"WITH x AS (SELECT id FROM incidents WHERE status = 'processing'"
	" AND lease_deadline < now() ORDER BY lease_deadline LIMIT $3 FOR UPDATE SKIP LOCKED),"
	" u AS (UPDATE incidents i SET"
	" status = CASE WHEN i.attempt - i.attempt_base >= $1 THEN 'failed' ELSE 'submitted' END,"
	" failure_reason = CASE WHEN i.attempt - i.attempt_base >= $1 THEN 'attempts_exhausted' END,"
	" failure_detail = CASE WHEN i.attempt - i.attempt_base >= $1 THEN 'the lease expired on the last"
	" attempt' END,"
	" finished_at = CASE WHEN i.attempt - i.attempt_base >= $1 THEN now() END,"
	" next_attempt_at = now() + coalesce(($2::bigint[])[i.attempt - i.attempt_base], 0)"
	" * interval '1 millisecond',"
	" lease_deadline = NULL, version = i.version + 1, updated_at = now()"
	" FROM x WHERE i.id = x.id"
	" RETURNING i.id, i.version, i.status, i.state,"
	" coalesce(i.severity_override, i.severity, '') AS sev,"
	" coalesce(i.category_override, i.category, '') AS cat, i.attempt),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'lease_expired', status, attempt, 'store', CASE WHEN status = 'failed'"
	" THEN jsonb_build_object('reason', 'attempts_exhausted') ELSE '{}' END FROM u)"
	" SELECT * FROM u";

/* Processing rows this store dispatched (same jobs URL), or a dead store did (its
 * store_dispatchers row older than $7 ms; $7 NULL: not yet, see store_reclaim), that no
 * live enricher keeps (store_enrichers.h): back to submitted at once, or failed on the
 * last attempt. $1 the jobs URL, $2 rows dispatched before this wall-clock ms are left
 * alone (a store that has just started waits one enricher expiry for the ready
 * messages), $3/$4 the kept (id, attempt) pairs, $5 max attempts, $6 the limit. */
const store_stmt store_stmt_reclaim = {"dispatch_reclaim",
	"WITH k AS (SELECT * FROM unnest($3::bigint[], $4::int[]) AS k(id, attempt)),"
	" x AS (SELECT i.id FROM incidents i WHERE i.status = 'processing'"
	" AND (i.dispatched_via = $1 OR i.dispatched_via IN (SELECT jobs_url FROM"
	" store_dispatchers WHERE seen_at < now() - $7::bigint * interval '1 millisecond'))"
	" AND i.dispatched_at >= to_timestamp($2::bigint / 1000.0)"
	" AND NOT EXISTS (SELECT 1 FROM k WHERE k.id = i.id AND k.attempt = i.attempt)"
	" ORDER BY i.id LIMIT $6 FOR UPDATE SKIP LOCKED),"
	" u AS (UPDATE incidents i SET"
	" status = CASE WHEN i.attempt - i.attempt_base >= $5 THEN 'failed' ELSE 'submitted' END,"
	" failure_reason = CASE WHEN i.attempt - i.attempt_base >= $5 THEN 'attempts_exhausted' END,"
	" failure_detail = CASE WHEN i.attempt - i.attempt_base >= $5 THEN 'the enricher holding"
	" the last attempt was lost' END,"
	" finished_at = CASE WHEN i.attempt - i.attempt_base >= $5 THEN now() END,"
	" next_attempt_at = now(), lease_deadline = NULL, lease_token = NULL,"
	" version = i.version + 1, updated_at = now() FROM x WHERE i.id = x.id"
	" RETURNING i.id, i.version, i.status, i.state,"
	" coalesce(i.severity_override, i.severity, '') AS sev,"
	" coalesce(i.category_override, i.category, '') AS cat, i.attempt),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'lease_expired', status, attempt, 'store', jsonb_build_object('reason',"
	" CASE WHEN status = 'failed' THEN 'attempts_exhausted' ELSE 'enricher_lost' END) FROM u)"
	" SELECT * FROM u"};

/* Labels of a claimed row (the jsonb text the store wrote) into kv, pointing into
 * *doc (the caller frees it with json_decref). Bounded by max. */
static size_t store_parse_labels(const char *text, proto_kv *kv, size_t max, json_t **doc)
{
	size_t n = 0;
	const char *key;
	json_t *value;
	*doc = json_loads(text, 0, NULL);
	if (!json_is_object(*doc))
		return 0;
	json_object_foreach(*doc, key, value)
	{
		if (n == max)
			break;
		if (!json_is_string(value))
			continue;
		kv[n].key = (char *)key;
		kv[n].value = (char *)json_string_value(value);
		n++;
	}
	return n;
}

/* A job that could not be sent (no enricher took it within the send timeout) was
 * never attempted: the row goes back to submitted at once, not counted (attempt_base + 1). */
static const char store_sql_unsent[] =
	"WITH u AS (UPDATE incidents i SET status = 'submitted', attempt_base = i.attempt_base + 1,"
	" next_attempt_at = now(), lease_deadline = NULL, version = i.version + 1,"
	" updated_at = now() FROM unnest($1::bigint[], $2::int[]) AS x(id, attempt)"
	" WHERE i.id = x.id AND i.status = 'processing' AND i.attempt = x.attempt"
	" RETURNING i.id, i.version, i.status, i.state,"
	" coalesce(i.severity_override, i.severity, '') AS sev,"
	" coalesce(i.category_override, i.category, '') AS cat, i.attempt),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'released', status, attempt, 'store', '{\"reason\": \"not sent\"}'"
	" FROM u)"
	" SELECT * FROM u";

static void store_release_unsent(store_dispatch *d, store_buf *ids, store_buf *attempts)
{
	PGresult *res = NULL;
	store_buf_array_close(ids);
	store_buf_array_close(attempts);
	if (ids->failed || attempts->failed)
		return; /* the leases bring them back */
	const char *p[] = {ids->data, attempts->data};
	if (store_db_exec(d->db, store_sql_unsent, 2, p, &res) != TR_OK)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		store_events_publish_row(d->events, res, r, 0, "released");
	PQclear(res);
}

static void store_push_jobs(store_dispatch *d, PGresult *res)
{
	store_buf unsent_ids, unsent_attempts;
	store_buf_init(&unsent_ids, 64 * 1024);
	store_buf_init(&unsent_attempts, 64 * 1024);
	store_buf_array_open(&unsent_ids);
	store_buf_array_open(&unsent_attempts);
	size_t unsent = 0;
	/* the similar resolved incidents of the whole batch, in one statement */
	int64_t ids[STORE_CLAIM_MAX];
	size_t nids = 0;
	for (int r = 0; r < PQntuples(res) && nids < STORE_CLAIM_MAX; r++)
		ids[nids++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	int64_t t0 = tr_mono_ms();
	store_similar_set *similar = store_similar_for_jobs(d->db, ids, nids);
	tr_debug("similar incidents for %zu jobs in %lld ms", nids, (long long)(tr_mono_ms() - t0));
	for (int r = 0; r < PQntuples(res); r++) {
		proto_kv labels[PROTO_LABELS_MAX];
		json_t *doc = NULL;
		proto_msg m = {.type = PROTO_JOB};
		proto_job *j = &m.u.job;
		j->incident_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		j->attempt = (int32_t)strtol(PQgetvalue(res, r, 6), NULL, 10);
		if (unsent > 0) {
			/* the socket refused the one before: do not wait again for each */
			store_buf_array_item(&unsent_ids, PQgetvalue(res, r, 0));
			store_buf_array_item(&unsent_attempts, PQgetvalue(res, r, 6));
			unsent++;
			continue;
		}
		j->lease_deadline_ms = strtoll(PQgetvalue(res, r, 7), NULL, 10);
		j->title = PQgetvalue(res, r, 8);
		j->description = PQgetvalue(res, r, 9);
		j->source = PQgetisnull(res, r, 10) ? NULL : PQgetvalue(res, r, 10);
		j->service = PQgetisnull(res, r, 11) ? NULL : PQgetvalue(res, r, 11);
		j->nlabels = store_parse_labels(PQgetvalue(res, r, 12), labels, PROTO_LABELS_MAX,
						&doc);
		j->labels = labels;
		j->lease_token = strtoll(PQgetvalue(res, r, 13), NULL, 10);
		j->model = PQgetvalue(res, r, 14);
		j->pickup_deadline_ms = tr_now_ms() + d->cfg->enricher_expire_ms;
		/* in transit from now: the enricher's ready message may come before send returns */
		store_enrichers_sent(d->enrichers, j->incident_id, j->attempt,
				     tr_mono_ms() + d->cfg->enricher_expire_ms + STORE_PICKUP_SLACK_MS);
		j->learned_version = strtoll(PQgetvalue(res, r, 15), NULL, 10);
		store_similar_of(similar, j->incident_id, &j->similar, &j->nsimilar);
		int rc = proto_sock_send(d->jobs, &m);
		json_decref(doc);
		if (rc != TR_OK) {
			store_enrichers_unsent(d->enrichers, j->incident_id, j->attempt);
			tr_iwarn(j->incident_id, "job not sent (%s): back to submitted",
				 tr_strerror(rc));
			store_buf_array_item(&unsent_ids, PQgetvalue(res, r, 0));
			store_buf_array_item(&unsent_attempts, PQgetvalue(res, r, 6));
			unsent++;
			continue;
		}
		tr_idebug(j->incident_id, "dispatched attempt=%d model=%s", j->attempt, j->model);
		store_events_publish_row(d->events, res, r, 0, "dispatched");
	}
	store_similar_free(similar);
	if (unsent > 0)
		store_release_unsent(d, &unsent_ids, &unsent_attempts);
	store_buf_free(&unsent_ids);
	store_buf_free(&unsent_attempts);
}

/* Claims and pushes as many due rows as there are credits. Returns how many. */
static long store_dispatch_pass(store_dispatch *d)
{
	long credits = store_enrichers_credits(d->enrichers, tr_mono_ms());
	if (credits <= 0)
		return 0;
	if (credits > STORE_CLAIM_MAX)
		credits = STORE_CLAIM_MAX;
	char lim[24], lease[24];
	snprintf(lim, sizeof(lim), "%ld", credits);
	snprintf(lease, sizeof(lease), "%ld", d->cfg->lease_ms);
	const char *p[] = {lim, lease, d->cfg->default_model, d->cfg->jobs_url};
	PGresult *res = NULL;
	if (store_db_exec_prepared(d->db, &store_stmt_claim, 4, p, &res) != TR_OK)
		return -1;
	long n = PQntuples(res);
	if (n > 0)
		store_push_jobs(d, res);
	PQclear(res);
	return n;
}

/* A store silent in store_dispatchers this long is dead: three missed sweeps, and at
 * least one enricher expiry. */
static long store_dead_ms(const store_dispatch *d)
{
	long ms = 3 * d->cfg->sweep_interval_ms;
	return ms < d->cfg->enricher_expire_ms ? d->cfg->enricher_expire_ms : ms;
}

/* Returns the rows no live enricher keeps to submitted at once (see store_sql_reclaim). */
static void store_reclaim(store_dispatch *d)
{
	store_buf ids, attempts;
	PGresult *res = NULL;
	char since[24], max[24], lim[24];
	int64_t now = tr_mono_ms();
	/* rows of an earlier store process: only once enrichers had time to say what they hold */
	int64_t since_ms = now - d->started_mono < d->cfg->enricher_expire_ms ? d->started_wall : 0;
	snprintf(since, sizeof(since), "%lld", (long long)since_ms);
	snprintf(max, sizeof(max), "%ld", d->cfg->max_attempts);
	snprintf(lim, sizeof(lim), "%d", STORE_EXPIRE_MAX);
	store_buf_init(&ids, 4 * 1024 * 1024);
	store_buf_init(&attempts, 4 * 1024 * 1024);
	store_enrichers_kept(d->enrichers, now, &ids, &attempts);
	if (ids.failed || attempts.failed)
		goto out;
	/* a dead store's rows: only once the enrichers had time to tell us all they hold
	 * (they tell every store), and a store is dead after three missed sweeps and at
	 * least one enricher expiry */
	char dead[24];
	snprintf(dead, sizeof(dead), "%ld", store_dead_ms(d));
	const char *p[] = {d->cfg->jobs_url, since, ids.data, attempts.data, max, lim,
			   since_ms ? NULL : dead};
	if (store_db_exec_prepared(d->db, &store_stmt_reclaim, 7, p, &res) != TR_OK)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		tr_iwarn(id, "attempt %s held by no live enricher: %s at once", PQgetvalue(res, r, 6),
			 PQgetvalue(res, r, 2));
		store_events_publish_row(d->events, res, r, 0,
					 strcmp(PQgetvalue(res, r, 2), "failed") == 0
						 ? "failed"
						 : "lease_expired");
	}
out:
	PQclear(res);
	store_buf_free(&ids);
	store_buf_free(&attempts);
}

/* Says in store_dispatchers that this store is alive and dispatches via its jobs URL;
 * warns (once a minute) when another live store claims the same address: rows are told
 * apart by it, so each store needs its own (bind a host's address, not 0.0.0.0). */
static void store_dispatcher_seen(store_dispatch *d)
{
	char dead[24];
	snprintf(dead, sizeof(dead), "%ld", store_dead_ms(d));
	const char *p[] = {d->cfg->jobs_url, d->cfg->store_id, dead};
	PGresult *res = NULL;
	/* one statement: the row's previous writer (the same snapshot as the upsert) */
	if (store_db_exec(d->db,
			  "WITH prev AS (SELECT store_id, seen_at FROM store_dispatchers"
			  " WHERE jobs_url = $1),"
			  " up AS (INSERT INTO store_dispatchers (jobs_url, store_id, seen_at)"
			  " VALUES ($1, $2, now()) ON CONFLICT (jobs_url) DO UPDATE"
			  " SET store_id = $2, seen_at = now())"
			  " SELECT store_id FROM prev WHERE store_id <> $2"
			  " AND seen_at > now() - $3::bigint * interval '1 millisecond'",
			  3, p, &res) != TR_OK)
		return;
	int64_t now = tr_mono_ms();
	if (PQntuples(res) > 0 && now - d->last_twin_warn_ms >= 60000) {
		d->last_twin_warn_ms = now;
		tr_warn("store %s also dispatches through %s: give each store its own "
			"TRIAGE_JOBS_URL (a host's address, not 0.0.0.0)",
			PQgetvalue(res, 0, 0), d->cfg->jobs_url);
	}
	PQclear(res);
}

static void store_sweep(store_dispatch *d)
{
	store_dispatcher_seen(d);
	/* the counts appended by every write since the last sweep, folded (sql/014) */
	store_db_exec(d->db, "SELECT triage_fold_counts()", 0, NULL, NULL);
	const char *fill[] = {STORE_SEARCH_FILL_MAX, STORE_SEARCH_FILL_AFTER_MS};
	store_db_exec(d->db, "SELECT triage_search_fill($1, $2 * interval '1 millisecond')", 2,
		      fill, NULL);
	store_reclaim(d);
	char max[24], backoffs[2048], lim[24];
	PGresult *res = NULL;
	snprintf(max, sizeof(max), "%ld", d->cfg->max_attempts);
	snprintf(lim, sizeof(lim), "%d", STORE_EXPIRE_MAX);
	store_backoff_array(d->cfg, backoffs, sizeof(backoffs));
	const char *p[] = {max, backoffs, lim};
	if (store_db_exec(d->db, store_sql_expire, 3, p, &res) != TR_OK)
		return;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		tr_iwarn(id, "lease expired on attempt %s: %s", PQgetvalue(res, r, 6),
			 PQgetvalue(res, r, 2));
		store_events_publish_row(d->events, res, r, 0,
					 strcmp(PQgetvalue(res, r, 2), "failed") == 0
						 ? "failed"
						 : "lease_expired");
	}
	PQclear(res);
	/* rows waiting longer than the stale threshold: say so (they are dispatched as soon
	 * as an enricher has a free slot; nothing is dropped) */
	int64_t now = tr_mono_ms();
	if (now - d->last_stale_warn_ms < d->cfg->stale_submitted_ms)
		return;
	char stale[24];
	snprintf(stale, sizeof(stale), "%ld", d->cfg->stale_submitted_ms);
	const char *p2[] = {stale};
	if (store_db_exec(d->db,
			  "SELECT count(*) FROM incidents WHERE status = 'submitted'"
			  " AND next_attempt_at < now() - $1 * interval '1 millisecond'",
			  1, p2, &res) != TR_OK)
		return;
	long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (n > 0) {
		d->last_stale_warn_ms = now;
		tr_warn("%ld incidents waiting for an enricher longer than %ld ms (credits: %ld)",
			n, d->cfg->stale_submitted_ms,
			store_enrichers_credits(d->enrichers, now));
	}
}

/* Milliseconds until the next due submitted row (capped by the sweep interval). */
static long store_next_due_ms(store_dispatch *d)
{
	PGresult *res = NULL;
	long wait = d->cfg->sweep_interval_ms;
	if (store_db_exec(d->db,
			  "SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)"
			  " FROM incidents WHERE status = 'submitted'",
			  0, NULL, &res) != TR_OK)
		return wait;
	if (!PQgetisnull(res, 0, 0)) {
		long due = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		if (due < 1)
			due = 1;
		if (due < wait)
			wait = due;
	}
	PQclear(res);
	return wait;
}

/* Waits on the lock's condition until woken or abs_ms (monotonic); with the lock held. */
static void store_dispatch_wait_until(store_dispatch *d, int64_t abs_ms)
{
	struct timespec ts = {.tv_sec = abs_ms / 1000, .tv_nsec = (abs_ms % 1000) * 1000000L};
	while (!d->woken && !atomic_load(&d->stopping) &&
	       pthread_cond_timedwait(&d->cond, &d->lock, &ts) == 0)
		;
}

/* After a pass that sent jobs, while the enrichers are busy: credits come back one ready
 * message at a time, and a pass per message would pay a claim and a similar lookup for
 * one row (1 ms and 1.5 ms of PostgreSQL, under load most of a triage's cost). So the
 * next pass waits until a quarter of the capacity is free, at most STORE_GATHER_MS. With
 * the enrichers idle it does not wait. */
static void store_gather(store_dispatch *d)
{
	int64_t until = tr_mono_ms() + STORE_GATHER_MS;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		long capacity = 0;
		long credits = store_enrichers_credits_of(d->enrichers, tr_mono_ms(), &capacity);
		if (credits >= (capacity + 3) / 4 || atomic_load(&d->stopping) ||
		    tr_mono_ms() >= until)
			break;
		d->woken = false;
		store_dispatch_wait_until(d, until);
	}
	pthread_mutex_unlock(&d->lock);
}

static void *store_dispatch_main(void *arg)
{
	store_dispatch *d = arg;
	d->next_sweep_ms = tr_mono_ms();
	for (;;) {
		long wait_ms = d->cfg->sweep_interval_ms;
		if (store_db_ensure(d->db) == TR_OK) {
			if (tr_mono_ms() >= d->next_sweep_ms) {
				store_sweep(d);
				d->next_sweep_ms = tr_mono_ms() + d->cfg->sweep_interval_ms;
			}
			long n;
			do {
				n = store_dispatch_pass(d);
				if (n > 0)
					store_gather(d);
			} while (n > 0 && !atomic_load(&d->stopping));
			if (n == 0 && store_enrichers_credits(d->enrichers, tr_mono_ms()) > 0)
				wait_ms = store_next_due_ms(d); /* work will come due: wake for it */
		}
		int64_t until_sweep = d->next_sweep_ms - tr_mono_ms();
		if (until_sweep < wait_ms)
			wait_ms = until_sweep > 0 ? (long)until_sweep : 0;
		pthread_mutex_lock(&d->lock);
		if (wait_ms > 0)
			store_dispatch_wait_until(d, tr_mono_ms() + wait_ms);
		d->woken = false;
		bool stop = atomic_load(&d->stopping);
		pthread_mutex_unlock(&d->lock);
		if (stop)
			break;
	}
	return NULL;
}

int store_dispatch_start(const store_config *cfg, store_events *events,
			 store_enrichers *enrichers, store_dispatch **out)
{
	store_dispatch *d = calloc(1, sizeof(*d));
	if (!d)
		return TR_ERR_NOMEM;
	d->cfg = cfg;
	d->events = events;
	d->enrichers = enrichers;
	d->started_mono = tr_mono_ms();
	d->started_wall = tr_now_ms();
	atomic_init(&d->stopping, false);
	d->db = store_db_new(cfg->database_url, cfg->db_timeout_ms, "dispatch", STORE_DB_LAZY);
	if (!d->db) {
		free(d);
		return TR_ERR_NOMEM;
	}
	int rc = proto_sock_listen(PROTO_SOCK_PUSH, cfg->jobs_url, &d->jobs);
	/* Not proto_sock's one message: jobs are sent only within exact credits (free slots
	 * the enrichers reported), so what waits here is bounded by them; a pass hands its
	 * batch over at once instead of waiting for each enricher to take each job. A job
	 * here dies only with the store, and is then dispatched again (no enricher holds it). */
	if (rc == TR_OK)
		rc = proto_nng_err(nng_socket_set_int(d->jobs, NNG_OPT_SENDBUF, STORE_CLAIM_MAX));
	if (rc != TR_OK) {
		store_db_free(d->db);
		free(d);
		return rc;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&d->lock, NULL);
	if (pthread_create(&d->thread, NULL, store_dispatch_main, d) != 0) {
		proto_sock_close(d->jobs);
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		store_db_free(d->db);
		free(d);
		return TR_ERR_INTERNAL;
	}
	*out = d;
	return TR_OK;
}

void store_dispatch_wake(store_dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->woken = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void store_dispatch_stop(store_dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->stopping, true);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	proto_sock_close(d->jobs);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	store_db_free(d->db);
	free(d);
}
