/* gw_forward: requests answered by the store: the store request built from the HTTP
 * input, the per-address share of store slots, parking the connection until the answer
 * (or the key lookup that must come first), and the HTTP answer made from the reply.
 * Runs on MHD's threads, except gw_req_done on nng's (see gw_http.c's DESIGN). */
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http_req.h"
#include "gw_keys.h"
#include "gw_routes.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

/* nng thread: the store answered (or not); wake the parked connection. */
static void gw_req_done(void *arg)
{
	gw_req *r = arg;
	pthread_mutex_lock(&r->mu);
	r->reply_ready = true;
	if (r->parked)
		MHD_resume_connection(r->conn);
	pthread_mutex_unlock(&r->mu);
}

/* Logs why requests get 503, at most once a second (a store outage would otherwise
 * write one line per request). */
static void gw_warn_unavailable(gw_http *h, const char *detail)
{
	int64_t now = tr_mono_ms();
	int64_t last = atomic_load(&h->last_warn_ms);
	if (now - last >= 1000 && atomic_compare_exchange_strong(&h->last_warn_ms, &last, now))
		tr_warn("answering 503: %s", detail);
}

/* GET /metrics: the gateway's figures and the store's (json is its reply body, or NULL
 * when the store did not answer). */
static enum MHD_Result gw_respond_metrics(gw_req *r, const char *json)
{
	json_t *o = json ? json_loads(json, 0, NULL) : NULL;
	const char *store_text = json_string_value(json_object_get(o, "text"));
	char *text = gw_metrics_render(r->h->metrics, r->h->id, store_text);
	json_decref(o);
	if (!text)
		return gw_respond_error(r, 500, "internal", "out of memory", NULL);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return gw_queue(r, 200, resp, false, NULL);
}

enum MHD_Result gw_finish_store(gw_req *r)
{
	gw_http *h = r->h;
	proto_msg reply;
	char detail[160];
	enum MHD_Result ret;
	int rc = gw_call_result(r->call, &reply);
	gw_call_release(r->call);
	r->call = NULL;

	if (r->match.id == GW_R_METRICS) {
		bool ok = rc == TR_OK && reply.u.reply.code == TR_OK;
		ret = gw_respond_metrics(r, ok ? reply.u.reply.json : NULL);
		if (rc == TR_OK)
			proto_msg_free(&reply);
		return ret;
	}
	if (rc != TR_OK) {
		if (rc == TR_ERR_TIMEOUT || rc == TR_ERR_UNAVAILABLE) {
			long ms = r->match.id == GW_R_READYZ ? h->deps.cfg->ready_timeout_ms
							     : h->deps.cfg->store_timeout_ms;
			if (rc == TR_ERR_TIMEOUT)
				snprintf(detail, sizeof detail,
					 "the store did not answer within %ld ms", ms);
			else
				snprintf(detail, sizeof detail,
					 "the store is not reachable, or the gateway is stopping");
			gw_warn_unavailable(h, detail);
			return gw_respond_error(r, 503, "unavailable", detail, NULL);
		}
		return gw_respond_error(r, 500, "internal", "the store's answer was malformed",
					NULL);
	}
	const proto_reply *rep = &reply.u.reply;
	if (r->match.id == GW_R_READYZ) {
		if (rep->code == TR_OK) {
			ret = gw_respond_text(r, 200, "{\"status\":\"ready\"}");
		} else {
			snprintf(detail, sizeof detail, "the store answered: %s",
				 tr_strerror(rep->code));
			ret = gw_respond_error(r, 503, "unavailable", detail, NULL);
		}
		proto_msg_free(&reply);
		return ret;
	}
	int status = gw_reply_status(&r->match, r->method, rep->code);
	char *body = reply.u.reply.json;
	reply.u.reply.json = NULL;
	if (!body || !*body) {
		free(body);
		body = rep->code == TR_OK ? strdup("{}")
					  : gw_error_json(tr_errname(rep->code), tr_strerror(rep->code));
	}
	if (status == 503) {
		snprintf(detail, sizeof detail, "the store answered: %s", tr_strerror(rep->code));
		gw_warn_unavailable(h, detail);
	}
	if (status == 201 && r->match.id == GW_R_KEYS) {
		char *with_key = gw_keys_with_key(body, r->new_key);
		free(body);
		body = with_key;
		tr_info("keys: key %s made a key (the store logs its name and role)", r->who.id);
	}
	explicit_bzero(r->new_key, sizeof r->new_key);
	char location[48];
	const char *extra[3] = {NULL, NULL, NULL};
	if (status == 202 && r->match.id == GW_R_INCIDENTS && rep->incident_id > 0) {
		snprintf(location, sizeof location, "/incidents/%lld", (long long)rep->incident_id);
		extra[0] = "Location";
		extra[1] = location;
	}
	proto_msg_free(&reply);
	return gw_respond_json(r, status, body, extra);
}

typedef struct {
	gw_param *out;
	size_t n, cap;
	bool overflow;
} gw_param_acc;

static enum MHD_Result gw_param_it(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	gw_param_acc *acc = cls;
	(void)kind;
	(void)key_size;
	if (acc->n == acc->cap) {
		acc->overflow = true;
		return MHD_NO;
	}
	acc->out[acc->n].key = key;
	acc->out[acc->n].value = value;
	acc->out[acc->n].value_len = value ? value_size : 0;
	acc->n++;
	return MHD_YES;
}

enum MHD_Result gw_start_store(gw_req *r)
{
	gw_http *h = r->h;
	gw_param params[PROTO_PARAMS_MAX];
	gw_param_acc acc = {params, 0, PROTO_PARAMS_MAX, false};
	gw_store_request sr;
	char detail[GW_DETAIL_MAX];

	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, gw_param_it, &acc);
	if (acc.overflow)
		return gw_respond_error(r, 400, "invalid", "query: too many parameters", NULL);
	gw_http_input in = {
		.method = r->method,
		.body = r->body ? r->body : "",
		.body_len = r->body ? r->len : 0,
		.params = params,
		.nparams = acc.n,
		.idempotency_key =
			MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key"),
		.tenant = r->tenant,
		.new_key = NULL,
	};
	if (r->match.id == GW_R_KEYS && r->method == GW_M_POST) {
		if (!gw_auth_new_key(r->new_key))
			return gw_respond_error(r, 503, "unavailable",
						"no random numbers for a new key", NULL);
		in.new_key = r->new_key;
	}
	if (!gw_build_request(&r->match, &in, &sr, detail, sizeof detail)) {
		gw_store_request_free(&sr);
		return gw_respond_error(r, 400, "invalid", detail, NULL);
	}
	long timeout = r->match.id == GW_R_READYZ ? h->deps.cfg->ready_timeout_ms
						  : h->deps.cfg->store_timeout_ms;
	enum MHD_Result ret = gw_send_to_store(r, &sr.msg, timeout);
	gw_store_request_free(&sr);
	return ret;
}

void gw_release_slot(gw_req *r)
{
	if (r->holds_slot) {
		gw_limit_release(r->h->inflight, r->addr);
		r->holds_slot = false;
	}
}

enum MHD_Result gw_send_to_store(gw_req *r, const proto_msg *msg, long timeout_ms)
{
	gw_http *h = r->h;
	/* One client address holds at most its share of the store's slots, however many
	 * requests it pipelines or connections it opens. */
	if (!r->holds_slot) {
		if (!gw_limit_acquire(h->inflight, r->addr, h->deps.cfg->store_max_per_addr)) {
			static const char *const extra[] = {"Retry-After", "1", NULL};
			tr_debug("limit: 429 %s has %ld store requests in flight", r->addr,
				 h->deps.cfg->store_max_per_addr);
			return gw_respond_error(r, 429, "too_many_requests",
						"too many requests in flight from this address",
						extra);
		}
		r->holds_slot = true;
	}
	r->reply_ready = false;
	int rc = gw_store_call(h->deps.store, msg, (int)timeout_ms, gw_req_done, r, &r->call);
	if (!r->looking_up) { /* a key lookup comes first: the body is still to be used */
		free(r->body);
		r->body = NULL;
	}
	if (rc != TR_OK) {
		r->call = NULL;
		gw_release_slot(r);
		if (rc == TR_ERR_UNAVAILABLE)
			return gw_respond_error(r, 503, "unavailable",
						"the gateway is busy or stopping", NULL);
		return gw_respond_error(r, 500, "internal", "could not encode the request", NULL);
	}
	r->phase = GW_PH_WAIT;
	pthread_mutex_lock(&r->mu);
	if (!r->reply_ready) {
		r->parked = true;
		atomic_fetch_add(&h->parked, 1);
		if (r->path[0])
			tr_debug("http %s parked for the store", r->path);
		MHD_suspend_connection(r->conn);
		pthread_mutex_unlock(&r->mu);
		return MHD_YES;
	}
	pthread_mutex_unlock(&r->mu);
	if (r->looking_up) {
		bool done;
		enum MHD_Result ret = gw_gate_lookup_finish(r, &done);
		gw_release_slot(r);
		return done ? ret : gw_dispatch(r);
	}
	gw_release_slot(r);
	return gw_finish_store(r);
}
