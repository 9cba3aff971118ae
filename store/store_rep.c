/* store_rep: REP contexts (nng aio state machines) between the gateways and the
 * store's workers.
 *
 * DESIGN: nng's aio callbacks (on nng's own threads) run each context: RECV -> decode
 * -> hand the call to a worker queue (WAIT) -> the worker calls store_rep_done from its
 * thread, which encodes the reply and starts the send (SEND) -> RECV again. A context
 * is touched by one party at a time: nng's callback, or the worker holding its call. */
#include "store_rep.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"

typedef enum { STORE_CTX_RECV, STORE_CTX_WAIT, STORE_CTX_SEND } store_ctx_state;

typedef struct {
	store_rep *rep;
	nng_aio *aio;
	nng_ctx ctx;
	store_ctx_state state;
	store_call call;
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
	void *buf = NULL;
	size_t len = 0;
	int rc = proto_encode(&m, &buf, &len);
	if (rc != TR_OK) {
		/* e.g. a body over PROTO_JSON_MAX: answer with an error that fits */
		tr_warn("reply for %s not encodable (%s); answering an error", request_id,
			tr_strerror(rc));
		m.u.reply.code = TR_ERR_INTERNAL;
		m.u.reply.created = false;
		m.u.reply.json = "{\"error\":\"internal\",\"detail\":\"the reply could not be "
				 "encoded\"}";
		rc = proto_encode(&m, &buf, &len);
	}
	nng_msg *msg = NULL;
	if (rc == TR_OK && nng_msg_alloc(&msg, 0) == 0 && nng_msg_append(msg, buf, len) == 0) {
		free(buf);
		proto_msg_free(&call->req);
		free(call->json);
		call->json = NULL;
		c->state = STORE_CTX_SEND;
		nng_aio_set_msg(c->aio, msg);
		nng_ctx_send(c->ctx, c->aio);
		return;
	}
	tr_error("reply for %s dropped: out of memory", request_id);
	free(buf);
	if (msg)
		nng_msg_free(msg);
	proto_msg_free(&call->req);
	free(call->json);
	call->json = NULL;
	store_rep_recv(c);
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
	if (call->req.type == PROTO_SUBMIT || call->req.type == PROTO_QUERY ||
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
		tr_warn("dropped a %s message: only submit, query and alerts are answered here",
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
		nng_close(rep->sock);
	for (long i = 0; i < rep->nctx; i++)
		nng_aio_stop(rep->ctxs[i].aio);
	for (long i = 0; i < rep->nctx; i++) {
		store_rep_ctx *c = &rep->ctxs[i];
		nng_ctx_close(c->ctx);
		nng_aio_free(c->aio);
		proto_msg_free(&c->call.req);
		free(c->call.json);
	}
	free(rep->ctxs);
	pthread_mutex_destroy(&rep->lock);
	free(rep);
}
