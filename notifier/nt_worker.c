/* nt_worker: claim, deliver, finish, in a loop, on several threads.
 *
 * DESIGN: cfg->workers threads, all alike. Each owns one database connection
 * (store_db, lazy commits: a lost commit only means a row is delivered again after its
 * lease, carrying the same delivery id) and one libcurl handle. A thread claims one due
 * row (SKIP LOCKED, so threads and other notifiers never take the same row), delivers
 * it, and finishes it; with nothing due it waits TRIAGE_NOTIFY_POLL_MS on its own
 * condition variable. Thread 0 also sweeps (expired leases, old rows) once a second.
 * The only shared state is the stop flag (atomic) and the mutex/condvar that wakes
 * sleeping threads when it is set. */
#include "nt_worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nt_http.h"
#include "nt_outbox.h"
#include "nt_retry.h"
#include "nt_sign.h"
#include "store_db.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

typedef struct {
	nt_workers *w;
	int index;
	pthread_t thread;
	bool started;
} nt_thread;

struct nt_workers {
	const nt_config *cfg;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	nt_thread *threads;
	long nthreads;
};

/* Waits up to ms unless stopping. */
static void nt_nap(nt_workers *w, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	if (!atomic_load(&w->stop))
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
}

/* Delivers one claimed row and records the outcome. */
static void nt_deliver(nt_workers *w, store_db *db, nt_http *http, nt_outbox_row *row)
{
	const nt_config *cfg = w->cfg;
	const nt_delivery *d = &row->d;
	char reason[300], sig[NT_SIGN_LEN];
	int rc;
	if (!row->enabled && strcmp(d->event, "test") != 0) {
		rc = nt_outbox_cancel(db, row, "the channel is disabled");
		goto out;
	}
	if (row->quiet) {
		tr_iinfo(d->incident_id, "delivery %lld (%s to %s) cancelled: resolved during hold-down",
			 (long long)d->delivery_id, d->event, d->channel);
		rc = nt_outbox_cancel(db, row, "resolved during the hold-down: nothing sent");
		goto out;
	}
	if (row->attempts > cfg->max_attempts) {
		snprintf(reason, sizeof reason,
			 "gave up after %ld attempts (the last one's notifier stopped mid-delivery)",
			 row->attempts - 1);
		rc = nt_outbox_fail(db, row, 0, reason, cfg->notifier_id);
		goto out;
	}
	char *body = nt_message_body(d, cfg->dashboard_url);
	if (!body) {
		rc = nt_outbox_fail(db, row, 0, "the notification could not be built", cfg->notifier_id);
		goto out;
	}
	if (row->secret && nt_sign(row->secret, body, strlen(body), sig) != 0) {
		free(body);
		rc = nt_outbox_fail(db, row, 0, "signing failed (libcrypto)", cfg->notifier_id);
		goto out;
	}
	int64_t t0 = tr_mono_ms();
	nt_http_answer ans;
	nt_http_post(http, row->url, body, strlen(body), d->delivery_id, d->event,
		     row->secret ? sig : NULL, &ans);
	free(body);
	nt_verdict v = nt_retry_classify(ans.curl_code, ans.status, reason, sizeof reason);
	long ms = (long)(tr_mono_ms() - t0);
	if (v == NT_SENT) {
		tr_iinfo(d->incident_id, "delivery %lld (%s to %s) sent: HTTP %ld in %ld ms",
			 (long long)d->delivery_id, d->event, d->channel, ans.status, ms);
		rc = nt_outbox_sent(db, row, ans.status);
	} else if (atomic_load(&w->stop) && ans.curl_code != 0) {
		/* our own stop cut the transfer: due again at once, for whoever runs next */
		rc = nt_outbox_retry(db, row, 0, 0, "the notifier stopped during the delivery");
	} else if (v == NT_RETRY && row->attempts < cfg->max_attempts) {
		long ra = ans.retry_after[0] ? nt_retry_after_parse(ans.retry_after, time(NULL)) : -1;
		long delay = nt_retry_delay(row->attempts, cfg->backoff_ms, cfg->backoff_max_ms, ra,
					    cfg->retry_after_max_ms);
		tr_iwarn(d->incident_id, "delivery %lld (%s to %s) attempt %ld: %s; retry in %ld ms",
			 (long long)d->delivery_id, d->event, d->channel, row->attempts, reason,
			 delay);
		rc = nt_outbox_retry(db, row, delay, ans.status, reason);
	} else {
		char final[400];
		if (v == NT_RETRY)
			snprintf(final, sizeof final, "gave up after %ld attempts: %s", row->attempts,
				 reason);
		else
			snprintf(final, sizeof final, "refused by the receiver: %s", reason);
		tr_iwarn(d->incident_id, "delivery %lld (%s to %s) failed: %s",
			 (long long)d->delivery_id, d->event, d->channel, final);
		rc = nt_outbox_fail(db, row, ans.status, final, cfg->notifier_id);
	}
out:
	if (rc != TR_OK)
		tr_warn("delivery %lld: the outcome was not recorded (%s); it is retried after its "
			"lease", (long long)d->delivery_id, tr_strerror(rc));
}

static void *nt_thread_main(void *arg)
{
	nt_thread *t = arg;
	nt_workers *w = t->w;
	const nt_config *cfg = w->cfg;
	char role[32];
	snprintf(role, sizeof role, "notify%d", t->index);
	store_db *db = store_db_new(cfg->database_url, cfg->db_timeout_ms, role, STORE_DB_LAZY);
	nt_http *http = nt_http_new(&w->stop, cfg->timeout_ms, cfg->connect_timeout_ms);
	int64_t next_sweep = 0;
	if (!db || !http) {
		tr_error("%s: out of memory", role);
		goto out;
	}
	while (!atomic_load(&w->stop)) {
		if (store_db_ensure(db) != TR_OK) {
			nt_nap(w, cfg->poll_ms);
			continue;
		}
		if (t->index == 0 && tr_mono_ms() >= next_sweep) {
			long requeued = 0;
			if (nt_outbox_sweep(db, cfg->retain_days, &requeued) == TR_OK && requeued)
				tr_warn("%ld deliveries whose notifier stopped are due again", requeued);
			next_sweep = tr_mono_ms() + 1000;
		}
		nt_outbox_row row;
		int rc = nt_outbox_claim(db, cfg->notifier_id, cfg->lease_ms, &row);
		if (rc == TR_ERR_NOT_FOUND) {
			nt_nap(w, cfg->poll_ms);
			continue;
		}
		if (rc != TR_OK) { /* e.g. the tables not migrated yet: logged by store_db */
			nt_nap(w, cfg->poll_ms > 1000 ? cfg->poll_ms : 1000);
			continue;
		}
		nt_deliver(w, db, http, &row);
		nt_outbox_row_free(&row);
	}
out:
	nt_http_free(http);
	store_db_free(db);
	return NULL;
}

int nt_workers_start(const nt_config *cfg, nt_workers **out)
{
	nt_workers *w = calloc(1, sizeof *w);
	if (!w)
		return TR_ERR_NOMEM;
	w->cfg = cfg;
	atomic_init(&w->stop, false);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->threads = calloc((size_t)cfg->workers, sizeof *w->threads);
	if (!w->threads) {
		nt_workers_stop(w);
		return TR_ERR_NOMEM;
	}
	for (long i = 0; i < cfg->workers; i++) {
		nt_thread *t = &w->threads[i];
		t->w = w;
		t->index = (int)i;
		if (pthread_create(&t->thread, NULL, nt_thread_main, t) != 0) {
			tr_error("could not start delivery thread %ld", i);
			nt_workers_stop(w);
			return TR_ERR_INTERNAL;
		}
		t->started = true;
		w->nthreads++;
	}
	*out = w;
	return TR_OK;
}

void nt_workers_stop(nt_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, true);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (long i = 0; i < w->nthreads; i++) {
		if (w->threads[i].started)
			pthread_join(w->threads[i].thread, NULL);
	}
	free(w->threads);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
