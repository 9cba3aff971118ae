/* store_alerts: the queue and the writer thread of alert deliveries.
 *
 * DESIGN: REP contexts queue ALERTS calls here (any thread). One writer thread with
 * its own PGconn takes every call waiting (up to TRIAGE_BATCH_MAX), commits them in
 * one transaction (store_alerts_tx.c), then calls each done(). One writer, not several:
 * a storm's deliveries all touch the same few incidents, whose row locks would make
 * parallel writers wait on each other anyway; batching is what makes it fast. Once a
 * minute the writer also deletes expired delivery keys. */
#include "store_alerts.h"

#include <pthread.h>
#include <stdlib.h>

#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define STORE_ALERTS_EXPIRE_MS 60000

struct store_alerts {
	const store_config *cfg;
	store_events *events;
	store_dispatch *dispatch;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	store_call *head, *tail; /* under lock */
	bool stopping;
	bool started;
	pthread_t thread;
};

static void *store_alerts_main(void *arg)
{
	store_alerts *a = arg;
	store_db *db = store_db_new(a->cfg->database_url, a->cfg->db_timeout_ms, "alerts",
				    STORE_DB_DURABLE);
	size_t max = a->cfg->group_commit ? (size_t)a->cfg->batch_max : 1;
	store_call **calls = calloc(max, sizeof(*calls));
	int64_t next_expire = tr_mono_ms() + STORE_ALERTS_EXPIRE_MS;
	if (!db || !calls)
		tr_error("alerts: out of memory starting the writer");
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&a->lock);
		while (!a->head && !a->stopping)
			pthread_cond_wait(&a->cond, &a->lock);
		while (a->head && calls && n < max) {
			calls[n++] = a->head;
			a->head = a->head->next;
		}
		if (!calls) { /* no memory: answer everything unavailable */
			while (a->head) {
				store_call *c = a->head;
				a->head = c->next;
				store_call_fail(c, TR_ERR_UNAVAILABLE, "out of memory");
				c->done(c);
			}
		}
		if (!a->head)
			a->tail = NULL;
		bool stop = n == 0 && a->stopping;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		if (n == 0)
			continue;
		if (db) {
			store_alerts_run(db, a->events, a->dispatch, calls, n);
		} else {
			for (size_t i = 0; i < n; i++)
				store_call_fail(calls[i], TR_ERR_UNAVAILABLE, "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			calls[i]->done(calls[i]);
		if (db && tr_mono_ms() >= next_expire) {
			next_expire = tr_mono_ms() + STORE_ALERTS_EXPIRE_MS;
			if (store_db_ensure(db) == TR_OK)
				store_alerts_expire(db);
		}
	}
	free(calls);
	store_db_free(db);
	return NULL;
}

int store_alerts_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		       store_alerts **out)
{
	store_alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return TR_ERR_NOMEM;
	a->cfg = cfg;
	a->events = events;
	a->dispatch = dispatch;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, store_alerts_main, a) != 0) {
		store_alerts_stop(a);
		return TR_ERR_INTERNAL;
	}
	a->started = true;
	*out = a;
	return TR_OK;
}

void store_alerts_submit(store_alerts *a, store_call *call)
{
	call->next = NULL;
	pthread_mutex_lock(&a->lock);
	if (a->stopping) {
		pthread_mutex_unlock(&a->lock);
		store_call_fail(call, TR_ERR_UNAVAILABLE, "the store is stopping");
		call->done(call);
		return;
	}
	if (a->tail)
		a->tail->next = call;
	else
		a->head = call;
	a->tail = call;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void store_alerts_stop(store_alerts *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
