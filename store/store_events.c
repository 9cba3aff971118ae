/* store_events: PROTO_EVENT publishing on a PUB socket, one sequence per process.
 *
 * DESIGN: any thread publishes under the lock (which orders seq with the sends). One
 * thread of our own (sync_thread) publishes PROTO_EVENTS_SYNC every
 * PROTO_EVENTS_SYNC_MS under the same lock, so a gateway knows when it is subscribed
 * and sees the events it missed even when no later event comes. */
#include "store_events.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "proto.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

struct store_events {
	nng_socket sock;
	pthread_mutex_t lock; /* orders seq with the sends */
	int64_t epoch;
	int64_t seq;
	pthread_t sync_thread;
	pthread_cond_t stop_cv; /* under lock */
	bool stop;
};

static void *sync_thread(void *arg)
{
	store_events *ev = arg;
	proto_msg m = {.type = PROTO_EVENTS_SYNC};
	pthread_mutex_lock(&ev->lock);
	while (!ev->stop) {
		m.u.events_sync.epoch = ev->epoch;
		m.u.events_sync.seq = ev->seq;
		int rc = proto_sock_send(ev->sock, &m);
		if (rc != TR_OK)
			tr_debug("events: sync not published: %s", tr_strerror(rc));
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PROTO_EVENTS_SYNC_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!ev->stop && pthread_cond_timedwait(&ev->stop_cv, &ev->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

int store_events_open(const char *url, store_events **out)
{
	store_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return TR_ERR_NOMEM;
	int rc = proto_sock_listen(PROTO_SOCK_PUB, url, &ev->sock);
	if (rc != TR_OK) {
		free(ev);
		return rc;
	}
	pthread_mutex_init(&ev->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	ev->epoch = tr_now_ms();
	if (pthread_create(&ev->sync_thread, NULL, sync_thread, ev) != 0) {
		proto_sock_close(ev->sock);
		pthread_cond_destroy(&ev->stop_cv);
		pthread_mutex_destroy(&ev->lock);
		free(ev);
		return TR_ERR_INTERNAL;
	}
	*out = ev;
	return TR_OK;
}

void store_events_close(store_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->stop = true;
	pthread_cond_signal(&ev->stop_cv);
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->sync_thread, NULL);
	proto_sock_close(ev->sock);
	pthread_cond_destroy(&ev->stop_cv);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

void store_events_publish(store_events *ev, int64_t incident_id, int64_t version,
			  const char *kind, const char *status, const char *state,
			  const char *severity, const char *category)
{
	if (!ev)
		return;
	proto_msg m = {.type = PROTO_EVENT};
	proto_event *e = &m.u.event;
	e->incident_id = incident_id;
	e->version = version;
	e->kind = (char *)kind;
	e->status = (char *)status;
	e->state = (char *)state;
	e->severity = (char *)(severity ? severity : "");
	e->category = (char *)(category ? category : "");
	e->epoch = ev->epoch;
	pthread_mutex_lock(&ev->lock);
	e->seq = ++ev->seq;
	e->at_ms = tr_now_ms();
	int rc = proto_sock_send(ev->sock, &m);
	pthread_mutex_unlock(&ev->lock);
	if (rc != TR_OK)
		tr_iwarn(incident_id, "event %s not published: %s", kind, tr_strerror(rc));
}

void store_events_publish_row(store_events *ev, const PGresult *res, int r, int col,
			      const char *kind)
{
	if (!ev)
		return;
	store_events_publish(ev, strtoll(PQgetvalue(res, r, col), NULL, 10),
			     strtoll(PQgetvalue(res, r, col + 1), NULL, 10), kind,
			     PQgetvalue(res, r, col + 2), PQgetvalue(res, r, col + 3),
			     PQgetvalue(res, r, col + 4), PQgetvalue(res, r, col + 5));
}
