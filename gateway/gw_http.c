/* gw_http: libmicrohttpd glue: request state, checks in the order of docs/API.md
 * (route 404, method 405, key 401, media type 415, size 413), dispatch, responses.
 *
 * DESIGN: MHD runs a pool of polling threads (TRIAGE_HTTP_THREADS), each owning its
 * connections. A request for the store is sent with gw_store_call and its connection
 * suspended ("parked") in the same handler call; the nng callback (gw_req_done)
 * resumes it and MHD calls the handler again on the connection's own thread, which
 * builds the response. A per-request mutex orders the two so resume never precedes
 * suspend: if the answer came first, the handler answers without parking. */
#include "gw_http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_http_req.h"
#include "gw_routes.h"
#include "gw_static.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define GW_SSE_SNDBUF (16 * 1024)

/* ---- store round trips ------------------------------------------------------------ */

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

static enum MHD_Result gw_finish_store(gw_req *r)
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

static enum MHD_Result gw_start_store(gw_req *r)
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
	};
	if (!gw_build_request(&r->match, &in, &sr, detail, sizeof detail)) {
		gw_store_request_free(&sr);
		return gw_respond_error(r, 400, "invalid", detail, NULL);
	}
	long timeout = r->match.id == GW_R_READYZ ? h->deps.cfg->ready_timeout_ms
						  : h->deps.cfg->store_timeout_ms;
	int rc = gw_store_call(h->deps.store, &sr.msg, (int)timeout, gw_req_done, r, &r->call);
	gw_store_request_free(&sr);
	free(r->body);
	r->body = NULL;
	if (rc != TR_OK) {
		r->call = NULL;
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
	return gw_finish_store(r);
}

/* ---- local answers ------------------------------------------------------------------ */

static enum MHD_Result gw_serve_file(gw_req *r)
{
	int fd;
	uint64_t size;
	if (!gw_static_open(r->h->deps.web_root, r->match.file, &fd, &size))
		return gw_respond_error(r, 404, "not_found", "no such file", NULL);
	struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", gw_static_content_type(r->match.file));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	return gw_queue(r, 200, resp, false, NULL);
}

static enum MHD_Result gw_open_events(gw_req *r)
{
	struct MHD_Response *resp = NULL;
	bool resync = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID") != NULL;
	int rc = gw_sse_open(r->h->deps.sse, r->conn, resync, &resp);
	if (rc == TR_ERR_UNAVAILABLE)
		return gw_respond_error(r, 503, "unavailable", "too many event streams", NULL);
	if (rc != TR_OK)
		return MHD_NO;
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* A small kernel send buffer: a client that stops reading fills it quickly, then
	 * its queue overflows and it is told to resync, instead of the kernel holding
	 * megabytes of stale events for it. */
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		int size = GW_SSE_SNDBUF;
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	}
	return gw_queue(r, 200, resp, false, NULL);
}

static enum MHD_Result gw_dispatch(gw_req *r)
{
	switch (r->match.id) {
	case GW_R_HEALTHZ: return gw_respond_text(r, 200, "{\"status\":\"ok\"}");
	case GW_R_STATIC: return gw_serve_file(r);
	case GW_R_EVENTS: return gw_open_events(r);
	default: return gw_start_store(r);
	}
}

/* ---- request checks --------------------------------------------------------------- */

static bool gw_is_json_type(const char *ct)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	ct += 16;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static enum MHD_Result gw_respond_too_large(gw_req *r)
{
	char detail[96];
	snprintf(detail, sizeof detail, "body: over the limit of %ld bytes", r->h->deps.cfg->max_body);
	return gw_respond_error(r, 413, "too_large", detail, NULL);
}

/* First call: the headers are in. Answers errors at once (before any body is read). */
static enum MHD_Result gw_on_headers(gw_req *r, const char *url, const char *method)
{
	gw_http *h = r->h;
	char allow[64];
	if (!gw_route_match(url, &r->match))
		return gw_respond_error(r, 404, "not_found", "no such route or incident", NULL);
	r->method = gw_method_bit(method);
	if (!(r->match.allowed & r->method)) {
		gw_allow_header(r->match.allowed, allow, sizeof allow);
		const char *extra[] = {"Allow", allow, NULL};
		char detail[96];
		snprintf(detail, sizeof detail, "%.16s: allowed are %s", method, allow);
		return gw_respond_error(r, 405, "method_not_allowed", detail, extra);
	}
	if (r->match.needs_key) {
		const char *key;
		size_t len;
		static const char *const extra[] = {"WWW-Authenticate", "Bearer", NULL};
		bool ok = gw_auth_presented(
			MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-API-KEY"),
			MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"),
			&key, &len);
		if (!ok)
			return gw_respond_error(r, 401, "unauthorized", "an API key is required",
						extra);
		if (!gw_auth_check(h->deps.auth, key, len, r->tenant))
			return gw_respond_error(r, 401, "unauthorized", "unknown API key", extra);
	}
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
	bool has_body = (cl && strcmp(cl, "0") != 0) || te;
	r->keep_body = gw_route_takes_body(&r->match, r->method);
	if (r->keep_body && has_body) {
		const char *ct =
			MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
		if (!ct || !gw_is_json_type(ct))
			return gw_respond_error(r, 415, "unsupported_media_type",
						"Content-Type: must be application/json", NULL);
	}
	if (cl) {
		char *end = NULL;
		unsigned long long n = strtoull(cl, &end, 10);
		if (n > (unsigned long long)h->deps.cfg->max_body)
			return gw_respond_too_large(r);
		if (r->keep_body && n > 0) {
			r->body = malloc((size_t)n + 1);
			if (!r->body)
				return MHD_NO;
			r->cap = (size_t)n + 1;
		}
	}
	return MHD_YES;
}

/* A piece of the body. A body declared over the limit was refused with the headers;
 * a chunked one is counted: past the limit nothing more is kept and the answer is 413
 * once it ends, and past GW_DISCARD_FACTOR times the limit the connection is closed
 * (MHD 0.9.75 cannot queue a response in the middle of an upload). */
#define GW_DISCARD_FACTOR 4
static enum MHD_Result gw_on_body(gw_req *r, const char *data, size_t size)
{
	size_t max = (size_t)r->h->deps.cfg->max_body;
	r->len += size;
	if (r->len > max) {
		free(r->body);
		r->body = NULL;
		r->cap = 0;
		r->too_large = true;
		if (r->len > GW_DISCARD_FACTOR * max) {
			tr_debug("http: body past %zu bytes, closing the connection",
				 GW_DISCARD_FACTOR * max);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (r->keep_body) {
		if (r->len + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 1024;
			while (cap < r->len + 1)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len - size, data, size);
	}
	return MHD_YES;
}


static enum MHD_Result gw_handler(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	gw_http *h = cls;
	gw_req *r = *con_cls;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->h = h;
		r->conn = conn;
		r->start_us = tr_mono_us();
		pthread_mutex_init(&r->mu, NULL);
		if (tr_log_threshold <= TR_LOG_DEBUG)
			snprintf(r->path, sizeof r->path, "%s %s", method, url);
		*con_cls = r;
		return gw_on_headers(r, url, method);
	}
	if (*upload_data_size) {
		size_t size = *upload_data_size;
		*upload_data_size = 0;
		if (r->phase != GW_PH_BODY)
			return MHD_YES;
		return gw_on_body(r, upload_data, size);
	}
	switch (r->phase) {
	case GW_PH_BODY: return r->too_large ? gw_respond_too_large(r) : gw_dispatch(r);
	case GW_PH_WAIT:
		/* Resumed: the store answered, timed out, or the client is shutting down. */
		pthread_mutex_lock(&r->mu);
		if (r->parked) {
			r->parked = false;
			atomic_fetch_sub(&h->parked, 1);
		}
		pthread_mutex_unlock(&r->mu);
		return gw_finish_store(r);
	default: return MHD_YES;
	}
}

static void gw_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	gw_req *r = *con_cls;
	(void)cls;
	(void)conn;
	if (!r)
		return;
	if (r->call) /* the client went away after its answer came: done has run */
		gw_call_release(r->call);
	if (r->parked)
		atomic_fetch_sub(&r->h->parked, 1);
	gw_metrics_request(r->h->metrics, r->match.id, r->method, r->status,
			   tr_mono_us() - r->start_us);
	if (r->path[0])
		tr_debug("http %s -> %d (%lld us%s)", r->path, r->status,
			 (long long)(tr_mono_us() - r->start_us),
			 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ", not completed");
	pthread_mutex_destroy(&r->mu);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static size_t gw_unescape_cb(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return gw_url_unescape(s);
}

static void gw_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/* A client that goes away (a closed tab on /events) is routine, not a warning. */
	if (strstr(line, "no longer available") || strstr(line, "reset by peer") ||
	    strstr(line, "Broken pipe"))
		tr_debug("mhd: %s", line);
	else
		tr_warn("mhd: %s", line);
}

int gw_http_start(const gw_http_deps *deps, gw_http **out)
{
	gw_http *h = calloc(1, sizeof *h);
	if (!h)
		return TR_ERR_NOMEM;
	h->deps = *deps;
	h->metrics = gw_metrics_new();
	if (!h->metrics) {
		free(h);
		return TR_ERR_NOMEM;
	}
	snprintf(h->id, sizeof h->id, "%s", deps->gateway_id ? deps->gateway_id : "");
	atomic_init(&h->parked, 0);
	atomic_init(&h->last_warn_ms, 0);
	const gw_config *cfg = deps->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (cfg->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)gw_mhd_log, NULL},
		{MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->addr},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->http_max_conns, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
		{MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)gw_completed, NULL},
		{MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)gw_unescape_cb, NULL},
		{cfg->http_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		 (intptr_t)cfg->http_threads, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, gw_handler, h, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!h->daemon) {
		tr_error("http: cannot listen on %s port %ld (in use, or not an address here?)",
			 cfg->http_addr, cfg->http_port);
		gw_metrics_free(h->metrics);
		free(h);
		return TR_ERR_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : (uint16_t)cfg->http_port;
	*out = h;
	return TR_OK;
}

uint16_t gw_http_port(const gw_http *h)
{
	return h->port;
}

void gw_http_quiesce(gw_http *h)
{
	MHD_socket s = MHD_quiesce_daemon(h->daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
}

bool gw_http_wait_unparked(gw_http *h, int timeout_ms)
{
	int64_t until = tr_mono_ms() + timeout_ms;
	while (atomic_load(&h->parked) > 0) {
		if (tr_mono_ms() >= until)
			return false;
		/* shutdown only: a short poll instead of another condition variable */
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}

void gw_http_stop(gw_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	gw_metrics_free(h->metrics);
	free(h);
}
