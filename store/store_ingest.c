/* store_ingest: group commit of submits: the queue, the writer threads, and what
 * happens around each batch (retries, fallbacks, replies, events).
 *
 * DESIGN: gateway REP contexts queue SUBMIT calls here (store_ingest_submit, any
 * thread) into a tr_pool. cfg->ingest_writers writer threads (the pool's workers), each
 * with its own PGconn, take every call waiting (up to TRIAGE_BATCH_MAX; one when
 * TRIAGE_GROUP_COMMIT is off; at most TRIAGE_REP_CONTEXTS x PROTO_BATCH_MAX wait: a
 * gateway's SUBMIT_BATCH arrives as one call per submit, queued together), run the
 * batch transaction, and after COMMIT answer each call, publish 'created'/'occurrence'
 * events and wake the dispatcher. With two writers one batch is being built while the
 * other waits for its fsync. Calls never wait on each other across batches. */
#include "store_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_alerts.h"
#include "store_batch.h"
#include "store_metrics.h"
#include "store_ingest_tx.h"
#include "store_json.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_pool.h"
#include "tr_time.h"

#define STORE_INGEST_RETRIES 3 /* deadlocks between writers: retry the whole batch */

struct store_ingest {
	const store_config *cfg;
	store_events *events;
	store_dispatch *dispatch;
	tr_pool *writers;
	store_alerts *alerts; /* deliveries from alerting tools: their own writer */
};

/* One writer thread's own state. */
typedef struct {
	store_db *db;
	store_call **calls; /* the batch being committed */
} store_writer;

static void store_publish_batch(store_ingest *in, store_batch_run *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->slots[i].kind == STORE_SLOT_INSERT && b->calls[i]->created)
			store_events_publish(in->events, b->calls[i]->incident_id, 1, "created",
					     "submitted", "open", "", "");
	}
	for (int r = 0; b->occ && r < PQntuples(b->occ); r++)
		store_events_publish_row(in->events, b->occ, r, 2, "occurrence");
}

/* What a failed submit answers: a value the database's checks refused (SQLSTATE class
 * 22 data exception, 23 integrity violation) is the client's (400); any other refusal is
 * our bug (TR_ERR_DB: 500); the rest could not commit (503). */
static int store_ingest_error(store_db *db, int rc)
{
	if (rc != TR_ERR_DB)
		return TR_ERR_UNAVAILABLE;
	const char *state = store_db_sqlstate(db);
	if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
		return TR_ERR_INVALID;
	return TR_ERR_DB;
}

/* Answers the calls whose gateway deadline leaves no time to commit (they are not
 * attempted: the gateway answers, or has answered, 503), moves the others to the front
 * and returns how many; *deadline gets the earliest of their deadlines (monotonic ms,
 * 0 if none carries one). */
static size_t store_ingest_live(store_call **calls, size_t n, int64_t *deadline)
{
	int64_t wall = tr_now_ms(), mono = tr_mono_ms();
	size_t k = 0;
	*deadline = 0;
	for (size_t i = 0; i < n; i++) {
		store_call *c = calls[i];
		int64_t d = c->req.u.submit.deadline_ms;
		if (d > 0 && d - wall < PROTO_COMMIT_MARGIN_MS) {
			tr_warn("ingest: submit %s dropped: %lld ms before the gateway's deadline",
				c->req.u.submit.request_id, (long long)(d - wall));
			store_call_fail(c, TR_ERR_UNAVAILABLE,
					"too late to commit before the gateway's deadline");
			continue;
		}
		if (d > 0 && (*deadline == 0 || mono + (d - wall) < *deadline))
			*deadline = mono + (d - wall);
		calls[i] = calls[k];
		calls[k++] = c;
	}
	return k;
}

void store_ingest_run(store_ingest *in, store_db *db, store_call **calls, size_t n)
{
	int64_t deadline;
	n = store_ingest_live(calls, n, &deadline);
	store_batch_run b = {.calls = calls, .n = n, .retry_window_ms = in->cfg->retry_window_ms};
	if (n == 0)
		return;
	store_db_set_deadline(db, deadline, PROTO_COMMIT_MARGIN_MS);
	b.subs = calloc(n, sizeof(*b.subs));
	b.slots = calloc(n, sizeof(*b.slots));
	b.done = calloc(n, sizeof(bool));
	b.dedup = calloc(n, sizeof(bool));
	b.occurs = calloc(n, sizeof(bool));
	if (!b.subs || !b.slots || !b.done || !b.dedup || !b.occurs) {
		for (size_t i = 0; i < n; i++)
			store_call_fail(calls[i], TR_ERR_UNAVAILABLE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		b.subs[i] = &calls[i]->req.u.submit;
	store_batch_plan(b.subs, n, b.slots);
	int rc = TR_ERR_INTERNAL;
	int64_t t0 = tr_mono_us();
	for (int attempt = 0; attempt < STORE_INGEST_RETRIES; attempt++) {
		store_batch_reset(&b);
		rc = store_db_ensure(db);
		if (rc == TR_OK)
			rc = store_batch_tx(db, &b);
		if (rc != TR_ERR_CONFLICT)
			break;
	}
	if (rc == TR_ERR_DB && n > 1) {
		/* something in the batch was refused: commit each alone, so only that one fails */
		store_batch_reset(&b);
		tr_warn("ingest: batch of %zu refused (%s); committing one by one", n,
			store_db_sqlstate(db));
		for (size_t i = 0; i < n; i++)
			store_ingest_run(in, db, &calls[i], 1);
		goto out;
	}
	if (rc != TR_OK) {
		char detail[320];
		int code = store_ingest_error(db, rc);
		if (code == TR_ERR_INVALID)
			snprintf(detail, sizeof(detail), "the database refused the incident: %s",
				 store_db_errmsg(db));
		else if (code == TR_ERR_DB)
			snprintf(detail, sizeof(detail), "database error %s", store_db_sqlstate(db));
		else
			snprintf(detail, sizeof(detail), "database unavailable: %s",
				 store_db_errmsg(db));
		for (size_t i = 0; i < n; i++) {
			if (b.slots[i].kind != STORE_SLOT_INVALID)
				store_call_fail(calls[i], code, detail);
		}
	}
	for (size_t i = 0; i < n; i++) {
		store_call *c = calls[i];
		const store_slot *sl = &b.slots[i];
		if (sl->kind == STORE_SLOT_INVALID) {
			store_call_fail(c, TR_ERR_INVALID, sl->detail);
		} else if (rc != TR_OK) {
			continue; /* failed above */
		} else if (sl->kind == STORE_SLOT_SAME_REQUEST || sl->kind == STORE_SLOT_SAME_KEY) {
			/* a follower: its leader's answer (the leader has a lower index) */
			const store_call *l = calls[sl->leader];
			if (l->code == TR_OK) {
				store_call_ok(c, l->json ? strdup(l->json) : NULL);
				c->incident_id = l->incident_id;
				c->created = sl->kind == STORE_SLOT_SAME_REQUEST && l->created;
			} else {
				c->code = l->code;
				c->json = l->json ? strdup(l->json) : NULL;
			}
		} else if (!b.done[i]) {
			tr_warn("ingest: submit %s matched nothing after a conflict",
				b.subs[i]->request_id);
			store_call_fail(c, TR_ERR_UNAVAILABLE, "conflicting submit; retry");
		}
	}
	if (rc == TR_OK) {
		store_publish_batch(in, &b);
		store_dispatch_wake(in->dispatch);
		store_metrics_ingest_batch(n);
		tr_debug("ingest: committed a batch of %zu in %.1f ms", n,
			 (double)(tr_mono_us() - t0) / 1000.0);
	}
out:
	store_db_set_deadline(db, 0, 0);
	PQclear(b.occ);
	free(b.subs);
	free(b.slots);
	free(b.done);
	free(b.dedup);
	free(b.occurs);
}

static void *store_writer_init(void *arg)
{
	store_ingest *in = arg;
	store_writer *w = calloc(1, sizeof(*w));
	size_t max = in->cfg->group_commit ? (size_t)in->cfg->batch_max : 1;
	if (w) {
		w->db = store_db_new(in->cfg->database_url, in->cfg->db_timeout_ms, "writer",
				     STORE_DB_DURABLE);
		if (w->db)
			store_db_set_ingest(w->db);
		w->calls = calloc(max, sizeof(*w->calls));
	}
	if (!w || !w->db || !w->calls)
		tr_error("ingest: out of memory starting a writer");
	return w;
}

static void store_writer_run(void *state, void **items, size_t n, void *arg)
{
	store_ingest *in = arg;
	store_writer *w = state;
	bool ok = w && w->db && w->calls;
	for (size_t i = 0; i < n; i++) {
		store_call *c = items[i];
		if (ok)
			w->calls[i] = c;
		else
			store_call_fail(c, TR_ERR_UNAVAILABLE, "out of memory");
	}
	if (ok)
		store_ingest_run(in, w->db, w->calls, n);
	for (size_t i = 0; i < n; i++)
		((store_call *)items[i])->done(items[i]);
}

static void store_writer_fini(void *state, void *arg)
{
	store_writer *w = state;
	(void)arg;
	if (!w)
		return;
	free(w->calls);
	store_db_free(w->db);
	free(w);
}

static const tr_pool_ops store_writer_ops = {store_writer_init, store_writer_run,
					     store_writer_fini};

int store_ingest_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		       store_ingest **out)
{
	store_ingest *in = calloc(1, sizeof(*in));
	if (!in)
		return TR_ERR_NOMEM;
	in->cfg = cfg;
	in->events = events;
	in->dispatch = dispatch;
	if (store_alerts_start(cfg, events, dispatch, &in->alerts) != TR_OK) {
		free(in);
		return TR_ERR_NOMEM;
	}
	size_t max = cfg->group_commit ? (size_t)cfg->batch_max : 1;
	/* every REP context may hold a batch of submits */
	int rc = tr_pool_start(&store_writer_ops, in, (size_t)cfg->ingest_writers, max,
			       (size_t)cfg->rep_contexts * PROTO_BATCH_MAX, &in->writers);
	if (rc != TR_OK) {
		store_alerts_stop(in->alerts);
		free(in);
		return rc;
	}
	*out = in;
	return TR_OK;
}

void store_ingest_submit(store_ingest *in, store_call *call)
{
	if (tr_pool_put(in->writers, call) != TR_OK) {
		store_call_fail(call, TR_ERR_UNAVAILABLE,
				"the store is stopping or has too many requests waiting");
		call->done(call);
	}
}

void store_ingest_submit_all(store_ingest *in, store_call *const *calls, size_t n)
{
	if (tr_pool_put_all(in->writers, (void *const *)calls, n) == TR_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		store_call_fail(calls[i], TR_ERR_UNAVAILABLE,
				"the store is stopping or has too many requests waiting");
		calls[i]->done(calls[i]);
	}
}

void store_ingest_alerts(store_ingest *in, store_call *call)
{
	store_alerts_submit(in->alerts, call);
}

void store_ingest_stop(store_ingest *in)
{
	if (!in)
		return;
	store_alerts_stop(in->alerts);
	tr_pool_stop(in->writers);
	free(in);
}
