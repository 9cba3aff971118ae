/* gw_sse: Server-Sent Events for browsers, fed by the store's PUB socket.
 *
 * DESIGN: one thread (gw_sse_thread) owns the SUB socket. For each event it formats
 * one frame (refcounted, shared by all streams) and appends it to every stream's ring
 * under the hub mutex; it also marks heartbeats due. A stream's reader runs on MHD's
 * threads: under the same mutex it copies queued frames out, and when there is
 * nothing to send it suspends its connection ("parked") and returns 0; whoever queues
 * something for a parked stream resumes it (once: "resumed"). MHD frees a stream when
 * its connection ends (gw_sse_free_cb). Lock order: hub mutex, then MHD's own.
 *
 * Never silently: a stream gets `hello` only once the hub is subscribed (a first
 * PROTO_EVENTS_SYNC or event has arrived; until then it waits), and every gap it may
 * have missed becomes a `resync`: a seq or epoch that does not follow on from the last
 * event (in an event or in the store's periodic sync, which also reveals lost last
 * events), a full stream queue, a Last-Event-ID. Resyncs are coalesced per stream: at
 * most one every GW_RESYNC_MIN_MS (a later one waits and is sent by the reader
 * thread's tick), so a dashboard re-reads its list at most once a second. nng's pipe
 * callbacks (nng threads) only log and count the links to the store. */
#include "gw_sse.h"

#include <errno.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_sse_hub.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

const char *const gw_resync_reasons[GW_RESYNC__COUNT] = {"reconnect", "gap", "epoch",
							  "overflow", "error"};

/* ---- frames --------------------------------------------------------------------- */

gw_frame *gw_frame_new(char *text)
{
	if (!text)
		return NULL;
	size_t len = strlen(text);
	gw_frame *f = malloc(sizeof *f + len + 1);
	if (f) {
		atomic_init(&f->refs, 1);
		f->len = len;
		memcpy(f->text, text, len + 1);
	}
	free(text);
	return f;
}

gw_frame *gw_frame_ref(gw_frame *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

void gw_frame_unref(gw_frame *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1)
		free(f);
}

/* ---- streams (hub mutex held) ----------------------------------------------------- */

void gw_stream_wake(gw_stream *st)
{
	if (st->parked && !st->resumed) {
		st->resumed = true;
		MHD_resume_connection(st->conn);
	}
}

static void gw_ring_push(gw_stream *st, gw_frame *f)
{
	size_t cap = st->hub->queue_len;
	st->ring[(st->head + st->count) % cap] = gw_frame_ref(f);
	st->count++;
}

static void gw_ring_clear(gw_stream *st)
{
	size_t cap = st->hub->queue_len;
	for (size_t i = 0; i < st->count; i++)
		gw_frame_unref(st->ring[(st->head + i) % cap]);
	st->head = st->count = 0;
}

/* Queues a resync for reason now, or (within GW_RESYNC_MIN_MS of the last one) marks
 * it pending for the tick; one pending resync stands for any number. */
void gw_stream_resync(gw_stream *st, int reason, int64_t now)
{
	if (st->awaiting_hello || st->resync_pending >= 0)
		return; /* hello comes first (the client reads the list then), or one is due */
	if (st->last_resync_ms && now - st->last_resync_ms < GW_RESYNC_MIN_MS) {
		st->resync_pending = reason;
		return;
	}
	if (st->count + 1 >= st->hub->queue_len)
		gw_ring_clear(st);
	gw_ring_push(st, st->hub->resync[reason]);
	st->last_resync_ms = now;
	gw_stream_wake(st);
}

/* Queues f; a full ring is emptied and a resync takes its place (the client re-reads). */
void gw_stream_push(gw_stream *st, gw_frame *f)
{
	if (st->awaiting_hello)
		return; /* events before hello: the client reads the list after hello */
	if (st->count + 1 >= st->hub->queue_len) {
		/* a resync still queued survives the clearing: the client has not re-read */
		gw_frame *kept = NULL;
		for (size_t i = 0; i < st->count && !kept; i++) {
			gw_frame *q = st->ring[(st->head + i) % st->hub->queue_len];
			for (int r = 0; r < GW_RESYNC__COUNT && !kept; r++)
				if (q == st->hub->resync[r])
					kept = q;
		}
		gw_ring_clear(st);
		if (kept)
			gw_ring_push(st, kept);
		else
			gw_stream_resync(st, GW_RESYNC_OVERFLOW, tr_mono_ms());
	}
	gw_ring_push(st, f);
	gw_stream_wake(st);
}

/* The hub became subscribed (mu held): streams waiting for hello get it. */
void gw_hub_subscribed(gw_sse *h)
{
	if (h->subscribed)
		return;
	h->subscribed = true;
	int64_t now = tr_mono_ms();
	for (gw_stream *st = h->streams; st; st = st->next) {
		if (!st->awaiting_hello)
			continue;
		st->awaiting_hello = false;
		gw_ring_push(st, h->hello);
		if (st->resync_on_hello)
			gw_stream_resync(st, GW_RESYNC_RECONNECT, now);
		gw_stream_wake(st);
	}
}

/* The next frame to send, or NULL. */
static gw_frame *gw_stream_next(gw_stream *st)
{
	if (st->count) {
		gw_frame *f = st->ring[st->head];
		st->head = (st->head + 1) % st->hub->queue_len;
		st->count--;
		return f;
	}
	if (st->heartbeat_due) {
		st->heartbeat_due = false;
		return gw_frame_ref(st->hub->heartbeat);
	}
	return NULL;
}

static ssize_t gw_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	gw_stream *st = cls;
	gw_sse *h = st->hub;
	size_t n = 0;
	(void)pos;

	pthread_mutex_lock(&h->mu);
	if (st->parked) {
		st->parked = st->resumed = false;
		pthread_cond_broadcast(&h->cv);
	}
	if (st->closing) {
		pthread_mutex_unlock(&h->mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	while (n < max) {
		if (!st->cur) {
			st->cur = gw_stream_next(st);
			st->cur_off = 0;
			if (!st->cur)
				break;
		}
		size_t take = st->cur->len - st->cur_off;
		if (take > max - n)
			take = max - n;
		memcpy(buf + n, st->cur->text + st->cur_off, take);
		n += take;
		st->cur_off += take;
		if (st->cur_off == st->cur->len) {
			gw_frame_unref(st->cur);
			st->cur = NULL;
		}
	}
	if (n == 0) {
		/* Nothing to send: park until an event, a heartbeat or shutdown. */
		st->parked = true;
		MHD_suspend_connection(st->conn);
	} else {
		st->last_send_ms = tr_mono_ms();
	}
	pthread_mutex_unlock(&h->mu);
	return (ssize_t)n;
}

static void gw_sse_free_cb(void *cls)
{
	gw_stream *st = cls;
	gw_sse *h = st->hub;
	pthread_mutex_lock(&h->mu);
	if (st->prev)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	h->nstreams--;
	gw_ring_clear(st);
	gw_frame_unref(st->cur);
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	tr_debug("sse: stream closed");
	free(st->ring);
	free(st);
}

int gw_sse_open(gw_sse *h, struct MHD_Connection *conn, bool resync, struct MHD_Response **out)
{
	gw_stream *st = calloc(1, sizeof *st);
	gw_frame **ring = calloc(h->queue_len, sizeof *ring);
	if (!st || !ring) {
		free(st);
		free(ring);
		return TR_ERR_NOMEM;
	}
	st->hub = h;
	st->conn = conn;
	st->ring = ring;
	st->last_send_ms = tr_mono_ms();
	st->resync_pending = -1;

	pthread_mutex_lock(&h->mu);
	if (h->closing || (long)h->nstreams >= h->max_streams) {
		pthread_mutex_unlock(&h->mu);
		free(ring);
		free(st);
		return TR_ERR_UNAVAILABLE;
	}
	if (h->subscribed) {
		gw_ring_push(st, h->hello);
		if (resync)
			gw_stream_resync(st, GW_RESYNC_RECONNECT, tr_mono_ms());
	} else {
		st->awaiting_hello = true; /* hello once subscribed (gw_hub_subscribed) */
		st->resync_on_hello = resync;
	}
	st->next = h->streams;
	if (h->streams)
		h->streams->prev = st;
	h->streams = st;
	h->nstreams++;
	pthread_mutex_unlock(&h->mu);

	struct MHD_Response *r =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, gw_sse_read, st,
						  gw_sse_free_cb);
	if (!r) {
		gw_sse_free_cb(st);
		return TR_ERR_NOMEM;
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	tr_debug("sse: stream opened%s", resync ? " (resync)" : "");
	*out = r;
	return TR_OK;
}

int gw_sse_start(const gw_sse_opts *opts, gw_sse **out)
{
	int rc = TR_ERR_NOMEM;
	gw_sse *h = calloc(1, sizeof *h);
	if (!h)
		return rc;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->heartbeat_ms = opts->heartbeat_ms;
	h->max_streams = opts->max_streams;
	h->queue_len = (size_t)opts->queue_len;
	h->events_url = strdup(opts->events_url);
	h->hello = gw_frame_new(gw_sse_frame_hello(opts->gateway_id));
	h->heartbeat = gw_frame_new(strdup(GW_SSE_HEARTBEAT));
	bool ok = h->events_url && h->hello && h->heartbeat;
	for (int i = 0; i < GW_RESYNC__COUNT; i++)
		ok &= (h->resync[i] = gw_frame_new(gw_sse_frame_resync(gw_resync_reasons[i]))) != NULL;
	if (!ok)
		goto fail;
	rc = proto_sock_dial_notify(PROTO_SOCK_SUB, h->events_url, gw_sse_pipe_cb, h, &h->sock);
	if (rc != TR_OK)
		goto fail;
	/* The thread wakes at least this often to send heartbeats and see stop. */
	long tick = h->heartbeat_ms / 4;
	if (tick > 250)
		tick = 250;
	if (tick < 10)
		tick = 10;
	nng_socket_set_ms(h->sock, NNG_OPT_RECVTIMEO, (nng_duration)tick);
	if (pthread_create(&h->thread, NULL, gw_sse_thread, h) != 0) {
		proto_sock_close(h->sock);
		rc = TR_ERR_INTERNAL;
		goto fail;
	}
	h->thread_started = true;
	*out = h;
	return TR_OK;
fail:
	gw_sse_stop(h);
	return rc;
}

bool gw_sse_shutdown(gw_sse *h, int timeout_ms)
{
	bool done = false;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	for (gw_stream *st = h->streams; st; st = st->next) {
		st->closing = true;
		gw_stream_wake(st);
	}
	for (;;) {
		done = true;
		for (gw_stream *st = h->streams; st; st = st->next)
			done &= !st->parked;
		if (done || pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&h->mu);
	return done;
}

void gw_sse_stop(gw_sse *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		atomic_store(&h->stop, true);
		pthread_join(h->thread, NULL);
		proto_sock_close(h->sock);
	}
	gw_frame_unref(h->hello);
	gw_frame_unref(h->heartbeat);
	for (int i = 0; i < GW_RESYNC__COUNT; i++)
		gw_frame_unref(h->resync[i]);
	free(h->events_url);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

bool gw_sse_subscribed(gw_sse *h)
{
	pthread_mutex_lock(&h->mu);
	bool sub = h->subscribed;
	pthread_mutex_unlock(&h->mu);
	return sub;
}

size_t gw_sse_count(gw_sse *h)
{
	pthread_mutex_lock(&h->mu);
	size_t n = h->nstreams;
	pthread_mutex_unlock(&h->mu);
	return n;
}
