/* enr_held: jobs held and results kept until the store surely has them (see the
 * header). */
#include "enr_held.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int64_t id;
	int32_t attempt;
	bool done;
	int64_t done_ms;
	void *result; /* encoded RESULT, done only */
	size_t len;
} enr_job_ref;

struct enr_held {
	pthread_mutex_t mu;
	enr_job_ref *jobs;
	size_t n, cap;
	int64_t received;
};

enr_held *enr_held_new(size_t running_max)
{
	enr_held *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->cap = running_max + ENR_HELD_KEEP_MAX;
	h->jobs = calloc(h->cap, sizeof *h->jobs);
	if (!h->jobs) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void enr_held_free(enr_held *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->jobs[i].result);
	pthread_mutex_destroy(&h->mu);
	free(h->jobs);
	free(h);
}

/* Removes entry i; with the lock held. */
static void enr_held_remove(enr_held *h, size_t i)
{
	free(h->jobs[i].result);
	memmove(&h->jobs[i], &h->jobs[i + 1], (h->n - i - 1) * sizeof *h->jobs);
	h->n--;
}

/* Makes room by forgetting the oldest finished job; with the lock held. */
static bool enr_held_room(enr_held *h)
{
	if (h->n < h->cap)
		return true;
	for (size_t i = 0; i < h->n; i++) {
		if (h->jobs[i].done) {
			enr_held_remove(h, i);
			return true;
		}
	}
	return false;
}

void enr_held_take(enr_held *h, int64_t incident_id, int32_t attempt)
{
	pthread_mutex_lock(&h->mu);
	h->received++;
	if (enr_held_room(h))
		h->jobs[h->n++] = (enr_job_ref){.id = incident_id, .attempt = attempt};
	pthread_mutex_unlock(&h->mu);
}

void enr_held_done(enr_held *h, int64_t incident_id, int32_t attempt, void *buf, size_t len,
		   int64_t now_mono_ms)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		enr_job_ref *j = &h->jobs[i];
		if (j->id != incident_id || j->attempt != attempt || j->done)
			continue;
		/* finished jobs stay in finishing order: move it to the end */
		enr_job_ref moved = {.id = incident_id, .attempt = attempt, .done = true,
				     .done_ms = now_mono_ms, .result = buf, .len = len};
		memmove(&h->jobs[i], &h->jobs[i + 1], (h->n - i - 1) * sizeof *h->jobs);
		h->jobs[h->n - 1] = moved;
		buf = NULL;
		break;
	}
	pthread_mutex_unlock(&h->mu);
	free(buf);
}

void enr_held_drop(enr_held *h, int64_t incident_id, int32_t attempt)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (h->jobs[i].id == incident_id && h->jobs[i].attempt == attempt) {
			enr_held_remove(h, i);
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
}

size_t enr_held_list(enr_held *h, int64_t now_mono_ms, char (*items)[PROTO_HELD_ITEM_MAX + 1],
		     char **ptrs, size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n;) {
		const enr_job_ref *j = &h->jobs[i];
		if (j->done && now_mono_ms - j->done_ms > ENR_HELD_KEEP_MS) {
			enr_held_remove(h, i);
			continue;
		}
		if (k < max) {
			snprintf(items[k], PROTO_HELD_ITEM_MAX + 1, "%" PRId64 ":%" PRId32 "%s", j->id,
				 j->attempt, j->done ? ":done" : "");
			ptrs[k] = items[k];
			k++;
		}
		i++;
	}
	pthread_mutex_unlock(&h->mu);
	return k;
}

int64_t enr_held_received(enr_held *h)
{
	pthread_mutex_lock(&h->mu);
	int64_t n = h->received;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int enr_held_resend(enr_held *h, nng_socket s, int64_t before_mono_ms)
{
	nng_msg *msgs[ENR_HELD_KEEP_MAX];
	size_t n = 0;
	int sent = 0;
	/* copied under the lock, sent outside it (a send may wait for the store) */
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n && n < ENR_HELD_KEEP_MAX; i++) {
		const enr_job_ref *j = &h->jobs[i];
		nng_msg *m = NULL;
		if (!j->done || !j->result || j->done_ms > before_mono_ms ||
		    nng_msg_alloc(&m, 0) != 0)
			continue;
		if (nng_msg_append(m, j->result, j->len) != 0) {
			nng_msg_free(m);
			continue;
		}
		msgs[n++] = m;
	}
	pthread_mutex_unlock(&h->mu);
	/* after a failed send the store is away again: the rest would each wait in vain
	 * (they go with the next resend) */
	bool failed = false;
	for (size_t i = 0; i < n; i++) {
		if (!failed && nng_sendmsg(s, msgs[i], 0) == 0) {
			sent++;
			continue;
		}
		failed = true;
		nng_msg_free(msgs[i]);
	}
	return sent;
}
