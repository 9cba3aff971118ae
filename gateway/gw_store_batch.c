/* gw_store_batch: the store client's submits coalesced: those that wait at the same
 * moment travel in one SUBMIT_BATCH, and each gets its own answer from the batch's reply.
 *
 * DESIGN: no thread of its own. GW_BATCHES batches, each with its own nng context and
 * aio, run the same send-then-receive state machine as a call (gw_store.c). A submit
 * call is packed on its caller's thread and queued (under the store's mutex); the
 * caller, if a batch is idle, takes it with every queued submit that fits (up to
 * batch_max, PROTO_BATCH_BYTES) and sends it. When a batch's reply (or its failure)
 * is in, its callback ends each of its calls (done() on that nng thread, as for any
 * call), then sends the submits that queued meanwhile with the same batch, or leaves it
 * idle. So under load a batch carries what arrived while the others were in flight,
 * and alone a submit leaves at once. A batch is reused by another thread only after
 * nng_aio_wait (its last callback has returned). A batch waits for the latest deadline
 * of its submits; the store commits none past its own deadline (proto.h), so a 503 still
 * means nothing stored. A batch that times out turns batching off until a store's reply
 * says it takes batches again (an older store drops SUBMIT_BATCH unanswered). */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

#include "gw_store_int.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

static void gw_batch_cb(void *arg);

void gw_batches_init(gw_store *s)
{
	for (size_t i = GW_BATCHES; i-- > 0;) {
		gw_batch *b = &s->batches[i];
		b->store = s;
		b->index = i;
		b->next_idle = s->idle_batches;
		s->idle_batches = b;
	}
}

static int gw_batch_prepare(gw_store *s, gw_batch *b)
{
	if (b->opened)
		return TR_OK;
	int rv = nng_ctx_open(&b->ctx, s->socks[b->index % s->nsocks]);
	if (rv != 0)
		return gw_map_nng(rv);
	rv = nng_aio_alloc(&b->aio, gw_batch_cb, b);
	if (rv != 0) {
		nng_ctx_close(b->ctx);
		return gw_map_nng(rv);
	}
	/* a dropped connection re-sends it (to another store when there are several):
	 * every submit in it is inserted once by its request id */
	nng_ctx_set_ms(b->ctx, NNG_OPT_REQ_RESENDTIME, GW_RESEND_MS);
	b->opened = true;
	return TR_OK;
}

/* Under s->mu: moves the queued submits that fit into b. Returns how many. */
static size_t gw_batch_take(gw_store *s, gw_batch *b)
{
	size_t bytes = 0;
	b->n = 0;
	while (s->queue_head && b->n < s->batch_max) {
		gw_call *c = s->queue_head;
		if (b->n > 0 && bytes + c->packed.len > PROTO_BATCH_BYTES)
			break;
		bytes += c->packed.len;
		s->queue_head = c->next_queued;
		if (!s->queue_head)
			s->queue_tail = NULL;
		c->next_queued = NULL;
		b->items[b->n++] = c;
	}
	return b->n;
}

/* Ends every call of b with rc (their done() may release them at once). */
static void gw_batch_fail(gw_batch *b, int rc)
{
	for (size_t i = 0; i < b->n; i++)
		gw_call_finish(b->items[i], rc);
	b->n = 0;
}

/* Encodes b's submits with the waiting confirmations and sends them. Returns whether
 * it sent (b then belongs to its callback: not to be touched again here) or not (none
 * was left to send, or the send failed and they were ended). */
static bool gw_batch_send(gw_store *s, gw_batch *b)
{
	char ids[PROTO_CONFIRMS_MAX][GW_REQUEST_ID_LEN + 1];
	char *ptrs[PROTO_CONFIRMS_MAX];
	proto_packed packed[PROTO_BATCH_MAX];
	int64_t now = tr_mono_ms();
	size_t live = 0;
	b->deadline_ms = 0;
	for (size_t i = 0; i < b->n; i++) {
		gw_call *c = b->items[i];
		if (c->deadline_ms <= now) {
			/* waited out its time in the queue: never sent, so nothing stored */
			gw_call_finish(c, TR_ERR_TIMEOUT);
			continue;
		}
		if (c->deadline_ms > b->deadline_ms)
			b->deadline_ms = c->deadline_ms;
		packed[live] = c->packed;
		b->items[live++] = c;
	}
	b->n = live;
	if (live == 0)
		return false;
	void *buf = NULL;
	size_t len = 0;
	nng_msg *m = NULL;
	gw_request_id(b->request_id);
	size_t nconf = gw_confirms_take(s, ids, ptrs);
	int rc = gw_batch_prepare(s, b);
	if (rc == TR_OK)
		rc = proto_batch_encode(b->request_id, ptrs, nconf, packed, live, &buf, &len);
	if (rc == TR_OK)
		rc = proto_bytes_to_nng(buf, len, &m);
	free(buf);
	if (rc != TR_OK) {
		tr_error("a batch of %zu submits could not be sent: %s", live, tr_strerror(rc));
		if (m)
			nng_msg_free(m);
		gw_batch_fail(b, TR_ERR_UNAVAILABLE);
		return false;
	}
	gw_confirms_sent(s, nconf ? ids[0] : "", nconf);
	for (size_t i = 0; i < live; i++) {
		free(b->items[i]->packed.data);
		b->items[i]->packed.data = NULL;
		b->items[i]->state = GW_CALL_SENDING;
	}
	b->state = GW_CALL_SENDING;
	nng_aio_set_msg(b->aio, m);
	nng_aio_set_timeout(b->aio, (nng_duration)(b->deadline_ms - now));
	/* under the mutex: a shutdown either cancels this send or is seen here */
	pthread_mutex_lock(&s->mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->mu);
		nng_aio_set_msg(b->aio, NULL);
		nng_msg_free(m);
		gw_batch_fail(b, TR_ERR_UNAVAILABLE);
		return false;
	}
	nng_ctx_send(b->ctx, b->aio);
	pthread_mutex_unlock(&s->mu);
	return true;
}

/* After b's exchange ended (or it had nothing to send): the next queued submits go with
 * b, or b becomes idle. On b's own callback or the thread that took it. */
static void gw_batch_next(gw_store *s, gw_batch *b)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		size_t n = s->closing ? 0 : gw_batch_take(s, b);
		if (n == 0) {
			b->state = GW_CALL_IDLE;
			b->next_idle = s->idle_batches;
			s->idle_batches = b;
		}
		pthread_mutex_unlock(&s->mu);
		if (n == 0)
			return;
		if (gw_batch_send(s, b))
			return; /* its callback goes on */
	}
}

void gw_batch_enqueue(gw_store *s, gw_call *c)
{
	pthread_mutex_lock(&s->mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->mu);
		gw_call_finish(c, TR_ERR_UNAVAILABLE);
		return;
	}
	c->next_queued = NULL;
	if (s->queue_tail)
		s->queue_tail->next_queued = c;
	else
		s->queue_head = c;
	s->queue_tail = c;
	gw_batch *b = s->idle_batches;
	if (b)
		s->idle_batches = b->next_idle;
	pthread_mutex_unlock(&s->mu);
	if (!b)
		return; /* a batch in flight takes it when its reply is in */
	if (b->opened)
		nng_aio_wait(b->aio); /* its last callback has returned */
	gw_batch_next(s, b);
}

/* Takes the batch's reply apart: each call gets its own reply, checked against its
 * request id. Returns TR_OK or TR_ERR_PROTO (the reply is not this batch's). */
static int gw_batch_replies(gw_batch *b, nng_msg *msg)
{
	proto_msg rep;
	char err[200];
	int rc = proto_msg_from_nng(msg, &rep, err, sizeof err);
	nng_msg_free(msg);
	if (rc != TR_OK) {
		tr_warn("store batch reply dropped: %s", err);
		return TR_ERR_PROTO;
	}
	const proto_batch_reply *br = &rep.u.batch_reply;
	bool ok = rep.type == PROTO_BATCH_REPLY && strcmp(br->request_id, b->request_id) == 0 &&
		  br->nreplies == b->n;
	for (size_t i = 0; ok && i < b->n; i++)
		ok = strcmp(br->replies[i].request_id, b->items[i]->request_id) == 0;
	if (!ok) {
		tr_warn("store batch reply dropped: a %s that does not answer this batch",
			proto_type_name(rep.type));
		proto_msg_free(&rep);
		return TR_ERR_PROTO;
	}
	for (size_t i = 0; i < b->n; i++) {
		gw_call *c = b->items[i];
		c->item_reply.type = PROTO_REPLY;
		c->item_reply.u.reply = br->replies[i];
		memset(&br->replies[i], 0, sizeof br->replies[i]); /* its strings moved */
	}
	proto_msg_free(&rep);
	return TR_OK;
}

/* b's exchange ended with rc (and msg, the reply, on TR_OK): answer its calls. */
static void gw_batch_done(gw_batch *b, int rc, nng_msg *msg)
{
	gw_store *s = b->store;
	if (rc == TR_OK)
		rc = gw_batch_replies(b, msg);
	if (rc == TR_ERR_TIMEOUT && atomic_exchange(&s->store_batch_max, 0) > 0)
		tr_warn("a batch of %zu submits got no answer in time: submits go one by one "
			"until a store's reply says it takes batches",
			b->n);
	gw_batch_fail(b, rc); /* TR_OK: each call reads its own reply */
	gw_batch_next(s, b);
}

static void gw_batch_cb(void *arg)
{
	gw_batch *b = arg;
	gw_store *s = b->store;
	int rv = nng_aio_result(b->aio);
	if (b->state == GW_CALL_SENDING) {
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(b->aio);
			if (m)
				nng_msg_free(m);
			nng_aio_set_msg(b->aio, NULL);
			gw_batch_done(b, gw_map_nng(rv), NULL);
			return;
		}
		int64_t left = b->deadline_ms - tr_mono_ms();
		if (left <= 0) {
			gw_batch_done(b, TR_ERR_TIMEOUT, NULL);
			return;
		}
		pthread_mutex_lock(&s->mu);
		if (s->closing) {
			pthread_mutex_unlock(&s->mu);
			gw_batch_done(b, TR_ERR_UNAVAILABLE, NULL);
			return;
		}
		b->state = GW_CALL_RECEIVING;
		nng_aio_set_timeout(b->aio, (nng_duration)left);
		nng_ctx_recv(b->ctx, b->aio);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (rv != 0) {
		gw_batch_done(b, gw_map_nng(rv), NULL);
		return;
	}
	nng_msg *m = nng_aio_get_msg(b->aio);
	nng_aio_set_msg(b->aio, NULL);
	gw_batch_done(b, TR_OK, m);
}

void gw_batches_shutdown(gw_store *s)
{
	pthread_mutex_lock(&s->mu);
	gw_call *queued = s->queue_head;
	s->queue_head = s->queue_tail = NULL;
	for (size_t i = 0; i < GW_BATCHES; i++) {
		if (s->batches[i].opened)
			nng_aio_cancel(s->batches[i].aio);
	}
	pthread_mutex_unlock(&s->mu);
	while (queued) {
		gw_call *next = queued->next_queued;
		gw_call_finish(queued, TR_ERR_UNAVAILABLE);
		queued = next;
	}
}

void gw_batches_free(gw_store *s)
{
	for (size_t i = 0; i < GW_BATCHES; i++) {
		gw_batch *b = &s->batches[i];
		if (!b->opened)
			continue;
		nng_aio_free(b->aio);
		nng_ctx_close(b->ctx);
		b->opened = false;
	}
}
