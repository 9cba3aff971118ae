/* gw_store: REQ client of the store with a pool of nng contexts.
 *
 * DESIGN: no thread of its own. A call takes a slot (context + aio) from a free list
 * under a mutex, then runs a two-step state machine in the aio callback on nng's
 * threads: send, then receive with what is left of the deadline. (The receive may
 * not be posted before the send completes: nng 1.5.2 asserts when a pending send is
 * cancelled while a receive waits.) The last step calls the caller's done(); the
 * caller reads the outcome on its own thread and releases the slot, which waits out
 * the callback (nng_aio_wait) before reuse. Slots are spread over a few REQ sockets
 * so that contexts do not all contend for one socket lock. Shutdown refuses new
 * calls, waits out calls being started, and cancels every pending aio (under the
 * mutex, so a send that completes meanwhile does not post its receive); the sockets
 * are closed only once every call is released (closing a REQ socket with requests
 * outstanding leaks inside nng 1.5.2). Submits may instead travel several to a request
 * (gw_store_batch.c): the call then waits in a queue and has no exchange of its own. */
#include "gw_store.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gw_sha256.h"
#include "gw_store_int.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

int gw_map_nng(int rv)
{
	if (rv == NNG_ETIMEDOUT)
		return TR_ERR_TIMEOUT;
	if (rv == NNG_ENOMEM)
		return TR_ERR_NOMEM;
	return TR_ERR_UNAVAILABLE;
}

void gw_call_finish(gw_call *c, int rc)
{
	c->rc = rc;
	c->state = GW_CALL_DONE;
	c->done(c->arg);
}

static void gw_call_cb(void *arg)
{
	gw_call *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->state == GW_CALL_SENDING) {
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(c->aio);
			if (m)
				nng_msg_free(m);
			nng_aio_set_msg(c->aio, NULL);
			gw_call_finish(c, gw_map_nng(rv));
			return;
		}
		int64_t left = c->deadline_ms - tr_mono_ms();
		if (left <= 0) {
			gw_call_finish(c, TR_ERR_TIMEOUT);
			return;
		}
		pthread_mutex_lock(&c->store->mu);
		if (c->store->closing) {
			pthread_mutex_unlock(&c->store->mu);
			gw_call_finish(c, TR_ERR_UNAVAILABLE);
			return;
		}
		c->state = GW_CALL_RECEIVING;
		nng_aio_set_timeout(c->aio, (nng_duration)left);
		nng_ctx_recv(c->ctx, c->aio);
		pthread_mutex_unlock(&c->store->mu);
		return;
	}
	if (rv != 0) {
		gw_call_finish(c, gw_map_nng(rv));
		return;
	}
	c->reply = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	gw_call_finish(c, TR_OK);
}

int gw_store_open(const char *url, size_t max_inflight, gw_store **out)
{
	int rc = TR_ERR_NOMEM;
	gw_store *s = calloc(1, sizeof *s);
	if (!s)
		return rc;
	s->slots = calloc(max_inflight, sizeof *s->slots);
	if (!s->slots)
		goto fail;
	s->nslots = max_inflight;
	s->confirms = calloc(GW_CONFIRMS_KEPT, sizeof *s->confirms);
	if (!s->confirms)
		goto fail;
	for (size_t i = max_inflight; i-- > 0;) {
		s->slots[i].store = s;
		s->slots[i].next_free = s->free_list;
		s->free_list = &s->slots[i];
	}
	for (; s->nsocks < GW_STORE_SOCKETS; s->nsocks++) {
		rc = proto_sock_dial(PROTO_SOCK_REQ, url, &s->socks[s->nsocks]);
		if (rc != TR_OK)
			goto fail;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->batch_max = 1;
	gw_batches_init(s);
	*out = s;
	return TR_OK;
fail:
	for (size_t i = 0; i < s->nsocks; i++)
		proto_sock_close(s->socks[i]);
	free(s->confirms);
	free(s->slots);
	free(s);
	return rc;
}

/* Opens the slot's context and aio on first use. */
static int gw_call_prepare(gw_store *s, gw_call *c)
{
	if (c->opened)
		return TR_OK;
	size_t index = (size_t)(c - s->slots);
	int rv = nng_ctx_open(&c->ctx, s->socks[index % s->nsocks]);
	if (rv != 0)
		return proto_nng_err(rv);
	rv = nng_aio_alloc(&c->aio, gw_call_cb, c);
	if (rv != 0) {
		nng_ctx_close(c->ctx);
		return proto_nng_err(rv);
	}
	c->opened = true;
	return TR_OK;
}

/* Whether the store may be asked twice: a submit or alert delivery (a store inserts a
 * request id once: incidents.request_id is unique, deliveries are matched by body) or
 * a query that only reads. Such a request is re-sent at once, to another store when
 * there are several, if its connection drops; any other gets 503 then. */
static bool gw_msg_repeatable(const proto_msg *msg)
{
	if (msg->type == PROTO_SUBMIT || msg->type == PROTO_ALERTS)
		return true;
	if (msg->type != PROTO_QUERY)
		return false;
	switch (msg->u.query.op) {
	case PROTO_OP_READY:
	case PROTO_OP_LIST:
	case PROTO_OP_GET:
	case PROTO_OP_STATS:
	case PROTO_OP_SETTINGS_GET:
	case PROTO_OP_KEY_LOOKUP:
	case PROTO_OP_KEY_LIST:
	case PROTO_OP_INTEGRATIONS:
	case PROTO_OP_CHANNEL_LIST:
	case PROTO_OP_NOTIFICATIONS:
	case PROTO_OP_SIMILAR:
	case PROTO_OP_METRICS: return true;
	default: return false;
	}
}

static const char *gw_msg_request_id(const proto_msg *msg)
{
	if (msg->type == PROTO_SUBMIT)
		return msg->u.submit.request_id;
	if (msg->type == PROTO_QUERY)
		return msg->u.query.request_id;
	if (msg->type == PROTO_ALERTS)
		return msg->u.alerts.request_id;
	return NULL;
}

/* Remembers that a submit's 2xx is on its way to the client. */
static void gw_confirm_add(gw_store *s, const char *request_id)
{
	if (strlen(request_id) > GW_REQUEST_ID_LEN)
		return;
	pthread_mutex_lock(&s->mu);
	size_t at = (s->confirm_head + s->confirm_n) % GW_CONFIRMS_KEPT;
	strcpy(s->confirms[at], request_id);
	if (s->confirm_n < GW_CONFIRMS_KEPT)
		s->confirm_n++;
	else
		s->confirm_head = (s->confirm_head + 1) % GW_CONFIRMS_KEPT;
	pthread_mutex_unlock(&s->mu);
}

size_t gw_confirms_take(gw_store *s, char ids[][GW_REQUEST_ID_LEN + 1], char **ptrs)
{
	size_t n = 0;
	pthread_mutex_lock(&s->mu);
	while (n < PROTO_CONFIRMS_MAX && n < s->confirm_n) {
		strcpy(ids[n], s->confirms[(s->confirm_head + n) % GW_CONFIRMS_KEPT]);
		ptrs[n] = ids[n];
		n++;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

void gw_confirms_sent(gw_store *s, const char *first, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&s->mu);
	/* drop the ones sent, unless the ring moved past them meanwhile */
	size_t drop = n < s->confirm_n ? n : s->confirm_n;
	if (strcmp(s->confirms[s->confirm_head], first) == 0) {
		s->confirm_head = (s->confirm_head + drop) % GW_CONFIRMS_KEPT;
		s->confirm_n -= drop;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Encodes a submit with its deadline and up to PROTO_CONFIRMS_MAX confirmations, which
 * leave the ring only once encoded (if the submit is then lost, so are they: their
 * incidents stay matchable by a retry, the safe side). */
static int gw_encode_submit(gw_store *s, const proto_msg *msg, int timeout_ms, nng_msg **out)
{
	char ids[PROTO_CONFIRMS_MAX][GW_REQUEST_ID_LEN + 1];
	char *ptrs[PROTO_CONFIRMS_MAX];
	proto_msg copy = *msg;
	size_t n = gw_confirms_take(s, ids, ptrs);
	copy.u.submit.deadline_ms = tr_now_ms() + timeout_ms;
	copy.u.submit.confirms = n ? ptrs : NULL;
	copy.u.submit.nconfirms = n;
	int rc = proto_msg_to_nng(&copy, out);
	if (rc == TR_OK)
		gw_confirms_sent(s, n ? ids[0] : "", n);
	return rc;
}

/* Whether this submit goes in a batch: batches are on and the store said it takes them
 * (a store older than SUBMIT_BATCH would drop one). */
static bool gw_batching(gw_store *s, const proto_msg *msg)
{
	return msg->type == PROTO_SUBMIT && s->batch_max > 1 &&
	       atomic_load(&s->store_batch_max) > 0;
}

void gw_store_set_batch(gw_store *s, size_t batch_max)
{
	s->batch_max = batch_max < 1 ? 1 : batch_max > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : batch_max;
}

int gw_store_call(gw_store *s, const proto_msg *msg, int timeout_ms, gw_call_done_fn done,
		  void *arg, gw_call **out)
{
	const char *rid = gw_msg_request_id(msg);
	if (!rid || strlen(rid) > PROTO_SHORT_MAX)
		return TR_ERR_INVALID;
	nng_msg *m = NULL;
	proto_packed packed = {NULL, 0};
	bool batched = gw_batching(s, msg);
	int rc;
	if (batched) {
		/* packed now, on the caller's thread; the batch carries the confirmations */
		proto_submit sub = msg->u.submit;
		sub.deadline_ms = tr_now_ms() + timeout_ms;
		sub.confirms = NULL;
		sub.nconfirms = 0;
		rc = proto_submit_pack(&sub, &packed);
	} else if (msg->type == PROTO_SUBMIT) {
		rc = gw_encode_submit(s, msg, timeout_ms, &m);
	} else {
		proto_msg copy = *msg;
		copy.u.query.deadline_ms = tr_now_ms() + timeout_ms;
		rc = proto_msg_to_nng(&copy, &m);
	}
	if (rc != TR_OK)
		return rc;

	pthread_mutex_lock(&s->mu);
	gw_call *c = s->closing ? NULL : s->free_list;
	if (c) {
		s->free_list = c->next_free;
		s->starting++;
	}
	pthread_mutex_unlock(&s->mu);
	if (!c) {
		nng_msg_free(m);
		free(packed.data);
		return TR_ERR_UNAVAILABLE;
	}
	rc = batched ? TR_OK : gw_call_prepare(s, c);
	if (rc == TR_OK) {
		strcpy(c->request_id, rid);
		c->is_submit = msg->type == PROTO_SUBMIT;
		c->in_batch = batched;
		c->packed = packed;
		c->done = done;
		c->arg = arg;
		c->reply = NULL;
		c->rc = TR_ERR_INTERNAL;
		c->deadline_ms = tr_mono_ms() + timeout_ms;
		c->state = batched ? GW_CALL_QUEUED : GW_CALL_SENDING;
		*out = c;
	}
	if (rc == TR_OK && batched) {
		gw_batch_enqueue(s, c);
	} else if (rc == TR_OK) {
		/* the timer never fires before the deadline: only a dropped connection
		 * re-sends (nng does that only while the resend time is finite) */
		nng_ctx_set_ms(c->ctx, NNG_OPT_REQ_RESENDTIME,
			       gw_msg_repeatable(msg) ? GW_RESEND_MS : NNG_DURATION_INFINITE);
		nng_aio_set_msg(c->aio, m);
		nng_aio_set_timeout(c->aio, timeout_ms);
		nng_ctx_send(c->ctx, c->aio);
	}
	pthread_mutex_lock(&s->mu);
	if (--s->starting == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (rc != TR_OK) {
		nng_msg_free(m);
		gw_call_release(c);
		return TR_ERR_UNAVAILABLE;
	}
	return TR_OK;
}

int gw_call_result(gw_call *c, proto_msg *reply)
{
	char err[200];
	memset(reply, 0, sizeof *reply);
	if (c->rc != TR_OK)
		return c->rc;
	if (c->in_batch) {
		/* checked against its request when the batch's reply was taken apart */
		*reply = c->item_reply;
		memset(&c->item_reply, 0, sizeof c->item_reply);
	} else {
		int rc = proto_msg_from_nng(c->reply, reply, err, sizeof err);
		if (rc != TR_OK) {
			tr_warn("store reply dropped: %s", err);
			return TR_ERR_PROTO;
		}
		if (reply->type != PROTO_REPLY || !reply->u.reply.request_id ||
		    strcmp(reply->u.reply.request_id, c->request_id) != 0) {
			tr_warn("store reply dropped: a %s for another request",
				proto_type_name(reply->type));
			proto_msg_free(reply);
			return TR_ERR_PROTO;
		}
		/* a store says in every reply whether it takes batches (0: an older one) */
		atomic_store(&c->store->store_batch_max, reply->u.reply.batch_max);
	}
	if (c->is_submit && reply->u.reply.code == TR_OK)
		gw_confirm_add(c->store, c->request_id);
	return TR_OK;
}

void gw_call_release(gw_call *c)
{
	gw_store *s = c->store;
	if (c->opened)
		nng_aio_wait(c->aio);
	if (c->reply) {
		nng_msg_free(c->reply);
		c->reply = NULL;
	}
	proto_msg_free(&c->item_reply);
	free(c->packed.data);
	c->packed.data = NULL;
	c->in_batch = false;
	c->state = GW_CALL_IDLE;
	c->done = NULL;
	c->arg = NULL;
	pthread_mutex_lock(&s->mu);
	c->next_free = s->free_list;
	s->free_list = c;
	pthread_mutex_unlock(&s->mu);
}

void gw_store_shutdown(gw_store *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	while (s->starting > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	for (size_t i = 0; i < s->nslots; i++) {
		if (s->slots[i].opened)
			nng_aio_cancel(s->slots[i].aio);
	}
	pthread_mutex_unlock(&s->mu);
	gw_batches_shutdown(s);
}

void gw_store_close(gw_store *s)
{
	if (!s)
		return;
	gw_store_shutdown(s);
	for (size_t i = 0; i < s->nslots; i++) {
		gw_call *c = &s->slots[i];
		if (!c->opened)
			continue;
		nng_aio_free(c->aio);
		nng_ctx_close(c->ctx);
	}
	gw_batches_free(s);
	for (size_t i = 0; i < s->nsocks; i++)
		proto_sock_close(s->socks[i]);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->confirms);
	free(s->slots);
	free(s);
}

void gw_request_id(char out[GW_REQUEST_ID_LEN + 1])
{
	uint8_t r[16];
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n <= 0) {
			/* getrandom does not fail for 16 bytes once the pool is ready; still,
			 * never send a predictable id silently. */
			tr_error("getrandom failed; request id from the clock");
			int64_t t = tr_mono_us() ^ tr_now_ms();
			memcpy(r, &t, sizeof t);
			got = sizeof r;
			break;
		}
		got += (size_t)n;
	}
	gw_hex(r, sizeof r, out);
}
