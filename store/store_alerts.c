/* store_alerts: the queue and the writer thread of alert deliveries.
 *
 * DESIGN: REP contexts queue ALERTS calls here (any thread). One writer thread (a
 * tr_pool of one) with its own PGconn takes every call waiting (up to TRIAGE_BATCH_MAX), commits them in
 * one transaction (store_alerts_tx.c), then calls each done(). One writer, not several:
 * a storm's deliveries all touch the same few incidents, whose row locks would make
 * parallel writers wait on each other anyway; batching is what makes it fast. Once a
 * minute the writer also deletes expired delivery keys. */
#include "store_alerts.h"

#include <stdlib.h>

#include "tr_err.h"
#include "tr_log.h"
#include "tr_pool.h"
#include "tr_time.h"

#define STORE_ALERTS_EXPIRE_MS 60000

struct store_alerts {
	const store_config *cfg;
	store_events *events;
	store_dispatch *dispatch;
	tr_pool *writer;
};

/* The writer's own state. */
typedef struct {
	store_db *db;
	int64_t next_expire;
} store_alerts_writer;

static void *store_alerts_init(void *arg)
{
	store_alerts *a = arg;
	store_alerts_writer *w = calloc(1, sizeof(*w));
	if (w) {
		w->db = store_db_new(a->cfg->database_url, a->cfg->db_timeout_ms, "alerts",
				     STORE_DB_DURABLE);
		w->next_expire = tr_mono_ms() + STORE_ALERTS_EXPIRE_MS;
	}
	if (!w || !w->db)
		tr_error("alerts: out of memory starting the writer");
	return w;
}

static void store_alerts_batch(void *state, void **items, size_t n, void *arg)
{
	store_alerts *a = arg;
	store_alerts_writer *w = state;
	store_call **calls = (store_call **)items;
	if (w && w->db) {
		store_alerts_run(w->db, a->events, a->dispatch, calls, n);
	} else {
		for (size_t i = 0; i < n; i++)
			store_call_fail(calls[i], TR_ERR_UNAVAILABLE, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		calls[i]->done(calls[i]);
	if (w && w->db && tr_mono_ms() >= w->next_expire) {
		w->next_expire = tr_mono_ms() + STORE_ALERTS_EXPIRE_MS;
		if (store_db_ensure(w->db) == TR_OK)
			store_alerts_expire(w->db);
	}
}

static void store_alerts_fini(void *state, void *arg)
{
	store_alerts_writer *w = state;
	(void)arg;
	if (w)
		store_db_free(w->db);
	free(w);
}

static const tr_pool_ops store_alerts_ops = {store_alerts_init, store_alerts_batch,
					     store_alerts_fini};

int store_alerts_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		       store_alerts **out)
{
	store_alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return TR_ERR_NOMEM;
	a->cfg = cfg;
	a->events = events;
	a->dispatch = dispatch;
	size_t max = cfg->group_commit ? (size_t)cfg->batch_max : 1;
	int rc = tr_pool_start(&store_alerts_ops, a, 1, max, (size_t)cfg->rep_contexts,
			       &a->writer);
	if (rc != TR_OK) {
		free(a);
		return rc;
	}
	*out = a;
	return TR_OK;
}

void store_alerts_submit(store_alerts *a, store_call *call)
{
	if (tr_pool_put(a->writer, call) != TR_OK) {
		store_call_fail(call, TR_ERR_UNAVAILABLE,
				"the store is stopping or has too many deliveries waiting");
		call->done(call);
	}
}

void store_alerts_stop(store_alerts *a)
{
	if (!a)
		return;
	tr_pool_stop(a->writer);
	free(a);
}
