/* store_rep: REP contexts (nng aio state machines) between the gateways and the
 * store's workers.
 *
 * DESIGN: nng's aio callbacks (on nng's own threads) run each context: RECV -> decode
 * -> hand the call to a worker queue (WAIT) -> the worker calls store_rep_done from its
 * thread, which encodes the reply and starts the send (SEND) -> RECV again. A context
 * is touched by one party at a time: nng's callback, or the worker holding its call.
 * A SUBMIT_BATCH becomes one call per submit, queued for the ingest writers together;
 * each writer answers its calls (store_rep_item_done), and the one that answers the
 * last (an atomic count) encodes the batch's reply and starts the send. */
#include "store_rep.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "proto_sock.h"
#include "store_metrics.h"
#include "tr_err.h"
#include "tr_log.h"

typedef enum { STORE_CTX_RECV, STORE_CTX_WAIT, STORE_CTX_SEND } store_ctx_state;

typedef struct {
	store_rep *rep;
	nng_aio *aio;
	nng_ctx ctx;
	store_ctx_state state;
	store_call call;
	/* a SUBMIT_BATCH in progress: one call per submit, the batch's id, how many calls
	 * are not answered yet */
	store_call *items;
	size_t nitems;
	char *batch_id;
	atomic_size_t pending;
} store_rep_ctx;

struct store_rep {
	nng_socket sock;
	store_ingest *ingest;
	store_query *query;
	store_rep_ctx *ctxs;
	long nctx;
	bool open;
	pthread_mutex_t lock; /* guards accepting against the hand-over to the workers */
	bool accepting;
};

static void store_rep_recv(store_rep_ctx *c)
{
	c->state = STORE_CTX_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

/* Encodes m (a REPLY or BATCH_REPLY) and starts its send; when it cannot be encoded
 * (a body over its bound), encodes again with the bodies emptied: the gateway then
 * answers with the status alone (a submit's 202 keeps its Location). Worker thread. */
static void store_rep_send(store_rep_ctx *c, proto_msg *m, const char *request_id)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = proto_encode(m, &buf, &len);
	if (rc != TR_OK) {
		tr_warn("reply for %s not encodable (%s); answering without its body", request_id,
			tr_strerror(rc));
		if (m->type == PROTO_REPLY) {
			m->u.reply.json = "";
			if (m->u.reply.code == TR_OK)
				m->u.reply.code = TR_ERR_INTERNAL;
		}
		for (size_t i = 0; m->type == PROTO_BATCH_REPLY && i < m->u.batch_reply.nreplies; i++)
			m->u.batch_reply.replies[i].json = "";
		rc = proto_encode(m, &buf, &len);
	}
	nng_msg *msg = NULL;
	if (rc == TR_OK && nng_msg_alloc(&msg, 0) == 0 && nng_msg_append(msg, buf, len) == 0) {
		free(buf);
		c->state = STORE_CTX_SEND;
		nng_aio_set_msg(c->aio, msg);
		nng_ctx_send(c->ctx, c->aio);
		return;
	}
	tr_error("reply for %s dropped: out of memory", request_id);
	free(buf);
	if (msg)
		nng_msg_free(msg);
	store_rep_recv(c);
}

/* A worker finished the call: encode and send the reply. Runs on the worker's thread. */
static void store_rep_done(store_call *call)
{
	store_rep_ctx *c = call->owner;
	const char *request_id = call->req.type == PROTO_SUBMIT   ? call->req.u.submit.request_id
				 : call->req.type == PROTO_ALERTS ? call->req.u.alerts.request_id
								  : call->req.u.query.request_id;
	proto_msg m = {.type = PROTO_REPLY};
	m.u.reply.request_id = (char *)request_id;
	m.u.reply.code = call->code;
	m.u.reply.created = call->created;
	m.u.reply.incident_id = call->incident_id;
	m.u.reply.json = call->json ? call->json : "{}";
	m.u.reply.batch_max = PROTO_BATCH_MAX; /* this store takes SUBMIT_BATCH */
	store_rep_send(c, &m, request_id);
	proto_msg_free(&call->req);
	free(call->json);
	call->json = NULL;
}

static void store_rep_batch_free(store_rep_ctx *c)
{
	for (size_t i = 0; c->items && i < c->nitems; i++) {
		proto_msg_free(&c->items[i].req);
		free(c->items[i].json);
	}
	free(c->items);
	free(c->batch_id);
	c->items = NULL;
	c->nitems = 0;
	c->batch_id = NULL;
}

/* A writer answered one submit of a batch; the last one answers the batch. */
static void store_rep_item_done(store_call *call)
{
	store_rep_ctx *c = call->owner;
	if (atomic_fetch_sub(&c->pending, 1) != 1)
		return;
	proto_reply replies[PROTO_BATCH_MAX];
	for (size_t i = 0; i < c->nitems; i++) {
		const store_call *it = &c->items[i];
		replies[i] = (proto_reply){.request_id = it->req.u.submit.request_id,
					   .code = it->code,
					   .created = it->created,
					   .incident_id = it->incident_id,
					   .json = it->json ? it->json : "{}"};
	}
	proto_msg m = {.type = PROTO_BATCH_REPLY};
	m.u.batch_reply.request_id = c->batch_id;
	m.u.batch_reply.replies = replies;
	m.u.batch_reply.nreplies = c->nitems;
	store_rep_send(c, &m, c->batch_id);
	store_rep_batch_free(c);
}

/* A SUBMIT_BATCH (in c->call.req): one call per submit, each a SUBMIT of its own (the
 * batch's confirms go with the first), queued for the writers together. */
static void store_rep_batch(store_rep_ctx *c)
{
	proto_submit_batch *b = &c->call.req.u.submit_batch;
	size_t n = b->nsubmits;
	store_call *items = calloc(n, sizeof(*items));
	store_call *ptrs[PROTO_BATCH_MAX];
	if (!items) {
		/* unanswered: the gateway answers 503, and nothing was stored */
		tr_error("dropped a batch of %zu submits: out of memory", n);
		proto_msg_free(&c->call.req);
		store_rep_recv(c);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].req.type = PROTO_SUBMIT;
		items[i].req.u.submit = b->submits[i];
		memset(&b->submits[i], 0, sizeof(b->submits[i]));
		items[i].owner = c;
		items[i].done = store_rep_item_done;
		ptrs[i] = &items[i];
	}
	items[0].req.u.submit.confirms = b->confirms;
	items[0].req.u.submit.nconfirms = b->nconfirms;
	b->confirms = NULL;
	b->nconfirms = 0;
	c->batch_id = b->request_id;
	b->request_id = NULL;
	proto_msg_free(&c->call.req);
	c->items = items;
	c->nitems = n;
	atomic_store(&c->pending, n);
	store_metrics_submit_batch(n);
	store_rep *rep = c->rep;
	pthread_mutex_lock(&rep->lock);
	bool accepting = rep->accepting;
	if (accepting)
		store_ingest_submit_all(rep->ingest, ptrs, n);
	pthread_mutex_unlock(&rep->lock);
	for (size_t i = 0; !accepting && i < n; i++) {
		store_call_fail(ptrs[i], TR_ERR_UNAVAILABLE, "the store is stopping");
		ptrs[i]->done(ptrs[i]);
	}
}

static void store_rep_cb(void *arg)
{
	store_rep_ctx *c = arg;
	int rv = nng_aio_result(c->aio);
	if (c->state == STORE_CTX_SEND) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
			tr_debug("reply not sent: %s", nng_strerror(rv));
		}
		store_rep_recv(c);
		return;
	}
	if (c->state != STORE_CTX_RECV)
		return;
	if (rv != 0) {
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		tr_warn("receive failed: %s", nng_strerror(rv));
		store_rep_recv(c);
		return;
	}
	nng_msg *msg = nng_aio_get_msg(c->aio);
	char err[200];
	store_call *call = &c->call;
	memset(call, 0, sizeof(*call));
	int rc = proto_decode(nng_msg_body(msg), nng_msg_len(msg), &call->req, err, sizeof(err));
	nng_msg_free(msg);
	if (rc != TR_OK) {
		tr_warn("dropped a malformed request: %s", err);
		store_rep_recv(c);
		return;
	}
	call->owner = c;
	call->done = store_rep_done;
	c->state = STORE_CTX_WAIT;
	if (call->req.type == PROTO_SUBMIT_BATCH) {
		store_rep_batch(c);
	} else if (call->req.type == PROTO_SUBMIT || call->req.type == PROTO_QUERY ||
	    call->req.type == PROTO_ALERTS) {
		store_rep *rep = c->rep;
		pthread_mutex_lock(&rep->lock);
		bool accepting = rep->accepting;
		if (accepting && call->req.type == PROTO_SUBMIT)
			store_ingest_submit(rep->ingest, call);
		else if (accepting && call->req.type == PROTO_ALERTS)
			store_ingest_alerts(rep->ingest, call);
		else if (accepting)
			store_query_submit(rep->query, call);
		pthread_mutex_unlock(&rep->lock);
		if (!accepting) {
			store_call_fail(call, TR_ERR_UNAVAILABLE, "the store is stopping");
			store_rep_done(call);
		}
	} else {
		tr_warn("dropped a %s message: only submit, submit_batch, query and alerts are "
			"answered here",
			proto_type_name(call->req.type));
		proto_msg_free(&call->req);
		store_rep_recv(c);
	}
}

int store_rep_start(const char *url, long ncontexts, store_ingest *ingest, store_query *query,
		    store_rep **out)
{
	store_rep *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return TR_ERR_NOMEM;
	rep->ingest = ingest;
	rep->query = query;
	rep->accepting = true;
	pthread_mutex_init(&rep->lock, NULL);
	int rc = proto_sock_listen(PROTO_SOCK_REP, url, &rep->sock);
	if (rc != TR_OK) {
		pthread_mutex_destroy(&rep->lock);
		free(rep);
		return rc;
	}
	rep->open = true;
	rep->ctxs = calloc((size_t)ncontexts, sizeof(*rep->ctxs));
	if (!rep->ctxs) {
		store_rep_close(rep);
		return TR_ERR_NOMEM;
	}
	for (long i = 0; i < ncontexts; i++) {
		store_rep_ctx *c = &rep->ctxs[i];
		c->rep = rep;
		int rv = nng_aio_alloc(&c->aio, store_rep_cb, c);
		if (rv == 0) {
			rv = nng_ctx_open(&c->ctx, rep->sock);
			if (rv != 0) {
				nng_aio_free(c->aio);
				c->aio = NULL;
			}
		}
		if (rv != 0) {
			tr_error("REP context: %s", nng_strerror(rv));
			store_rep_close(rep);
			return proto_nng_err(rv);
		}
		rep->nctx++;
	}
	for (long i = 0; i < rep->nctx; i++)
		store_rep_recv(&rep->ctxs[i]);
	*out = rep;
	return TR_OK;
}

void store_rep_quiesce(store_rep *rep)
{
	pthread_mutex_lock(&rep->lock);
	rep->accepting = false;
	pthread_mutex_unlock(&rep->lock);
}

void store_rep_close(store_rep *rep)
{
	if (!rep)
		return;
	if (rep->open)
		proto_sock_close(rep->sock);
	for (long i = 0; i < rep->nctx; i++)
		nng_aio_stop(rep->ctxs[i].aio);
	for (long i = 0; i < rep->nctx; i++) {
		store_rep_ctx *c = &rep->ctxs[i];
		nng_ctx_close(c->ctx);
		nng_aio_free(c->aio);
		proto_msg_free(&c->call.req);
		free(c->call.json);
		store_rep_batch_free(c);
	}
	free(rep->ctxs);
	pthread_mutex_destroy(&rep->lock);
	free(rep);
}
