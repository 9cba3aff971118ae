/* gw_sse_feed: the SSE hub's reader thread (see gw_sse.c for the design): reads the
 * store's events and syncs, finds gaps, fans events out, queues heartbeats and resyncs. */
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_sse_hub.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

/* ---- the reader thread ---------------------------------------------------------- */

/* Whether (epoch, seq) follows on from the last event seen of that epoch (mu held): -1
 * if it does, else the resync reason: a gap, or an epoch not seen before (a store
 * restarted or joined) once any was. next: seq is a new event's (last + 1 expected),
 * not a sync's (last expected). Records it as the epoch's last seen. */
static int gw_hub_follow(gw_sse *h, int64_t epoch, int64_t seq, bool next)
{
	int64_t now = tr_mono_ms();
	size_t at = h->nepochs, oldest = 0;
	for (size_t i = 0; i < h->nepochs;) {
		if (h->epochs[i].epoch == epoch) {
			at = i++;
		} else if (now - h->epochs[i].seen_ms > GW_EPOCH_FORGET_MS) {
			h->epochs[i] = h->epochs[--h->nepochs]; /* look at the one moved here */
		} else {
			if (h->epochs[i].seen_ms < h->epochs[oldest].seen_ms)
				oldest = i;
			i++;
		}
	}
	int reason = -1;
	if (at < h->nepochs) {
		if (seq != h->epochs[at].last_seq + (next ? 1 : 0))
			reason = GW_RESYNC_GAP;
	} else {
		if (h->ever_followed)
			reason = GW_RESYNC_EPOCH;
		at = h->nepochs < GW_EPOCHS_MAX ? h->nepochs++ : oldest;
		h->epochs[at].epoch = epoch;
	}
	h->ever_followed = true;
	h->epochs[at].last_seq = seq;
	h->epochs[at].seen_ms = now;
	return reason;
}

static void gw_sse_sync(gw_sse *h, const proto_events_sync *sy)
{
	pthread_mutex_lock(&h->mu);
	int reason = gw_hub_follow(h, sy->epoch, sy->seq, false);
	gw_hub_subscribed(h);
	int64_t now = tr_mono_ms();
	for (gw_stream *st = h->streams; reason >= 0 && st; st = st->next)
		gw_stream_resync(st, reason, now);
	pthread_mutex_unlock(&h->mu);
	if (reason >= 0)
		tr_info("sse: resync (%s) at sync %lld-%lld", gw_resync_reasons[reason],
			(long long)sy->epoch, (long long)sy->seq);
}

static void gw_sse_broadcast(gw_sse *h, const proto_event *ev)
{
	gw_frame *f = gw_frame_new(gw_sse_frame_incident(ev));

	pthread_mutex_lock(&h->mu);
	int reason = gw_hub_follow(h, ev->epoch, ev->seq, true);
	gw_hub_subscribed(h);
	if (!f)
		reason = GW_RESYNC_ERROR;
	int64_t now = tr_mono_ms();
	for (gw_stream *st = h->streams; st; st = st->next) {
		if (reason >= 0)
			gw_stream_resync(st, reason, now);
		if (f)
			gw_stream_push(st, f);
	}
	pthread_mutex_unlock(&h->mu);
	if (reason >= 0)
		tr_info("sse: resync (%s) at event %lld-%lld", gw_resync_reasons[reason],
			(long long)ev->epoch, (long long)ev->seq);
	gw_frame_unref(f);
}

static void gw_sse_heartbeats(gw_sse *h)
{
	int64_t now = tr_mono_ms();
	pthread_mutex_lock(&h->mu);
	for (gw_stream *st = h->streams; st; st = st->next) {
		if (st->resync_pending >= 0 && now - st->last_resync_ms >= GW_RESYNC_MIN_MS) {
			int reason = st->resync_pending;
			st->resync_pending = -1;
			gw_stream_resync(st, reason, now);
		}
		if (!st->heartbeat_due && !st->count && now - st->last_send_ms >= h->heartbeat_ms) {
			st->heartbeat_due = true;
			st->last_send_ms = now; /* due once per interval even if slow to send */
			gw_stream_wake(st);
		}
	}
	pthread_mutex_unlock(&h->mu);
}

void *gw_sse_thread(void *arg)
{
	gw_sse *h = arg;
	while (!atomic_load(&h->stop)) {
		nng_msg *msg = NULL;
		/* Not proto_sock_recv: a timeout every tick is normal here, not news. */
		int rv = nng_recvmsg(h->sock, &msg, 0);
		if (rv == 0) {
			proto_msg m;
			char err[200];
			if (proto_msg_from_nng(msg, &m, err, sizeof err) != TR_OK) {
				tr_warn("sse: dropped a malformed event: %s", err);
			} else {
				if (m.type == PROTO_EVENT)
					gw_sse_broadcast(h, &m.u.event);
				else if (m.type == PROTO_EVENTS_SYNC)
					gw_sse_sync(h, &m.u.events_sync);
				else
					tr_warn("sse: ignored a %s message on the events socket",
						proto_type_name(m.type));
				proto_msg_free(&m);
			}
			nng_msg_free(msg);
		} else if (rv != NNG_ETIMEDOUT) {
			tr_warn("sse: events socket: %s", nng_strerror(rv));
			if (rv == NNG_ECLOSED)
				break;
		}
		gw_sse_heartbeats(h);
	}
	return NULL;
}

/* nng thread: the link to the store's events came up or went down. Events published
 * meanwhile are lost; the next one shows a gap or a new epoch, and streams resync. */
void gw_sse_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	gw_sse *h = arg;
	(void)p;
	pthread_mutex_lock(&h->mu);
	h->links += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;
	int links = h->links;
	if (links == 0)
		h->subscribed = false; /* new streams wait for hello until it is back */
	/* another store carries on: this one's last events may be lost and it may never
	 * send again to show the gap, so streams re-read now */
	int64_t now = tr_mono_ms();
	for (gw_stream *st = h->streams; ev == NNG_PIPE_EV_REM_POST && links > 0 && st;
	     st = st->next)
		gw_stream_resync(st, GW_RESYNC_GAP, now);
	pthread_mutex_unlock(&h->mu);
	if (ev == NNG_PIPE_EV_ADD_POST)
		tr_info("sse: connected to the store's events (%d store%s; subscribed at its "
			"next sync)", links, links == 1 ? "" : "s");
	else if (links > 0)
		tr_warn("sse: lost a store's events (%d left): streams resync", links);
	else
		tr_warn("sse: lost the store's events (streams resync at the next sync or event)");
}

