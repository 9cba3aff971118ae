/* gw_http: libmicrohttpd glue: request state, checks in the order of docs/API.md
 * (framing 400, route 404, method 405, keys and limits 401/403/429 in gw_gate.c, media
 * type 415, size 413), dispatch, local answers; store round trips are in gw_forward.c.
 *
 * DESIGN: MHD runs a pool of polling threads (TRIAGE_HTTP_THREADS), each owning its
 * connections, plus gw_conn's reaper thread that sheds slow connections. A request for
 * the store is sent with gw_store_call and its connection suspended ("parked") in the
 * same handler call; the nng callback (gw_req_done) resumes it and MHD calls the handler
 * again on the connection's own thread, which builds the response. A per-request mutex
 * orders the two so resume never precedes suspend: if the answer came first, the
 * handler answers without parking. */
#include "gw_http.h"

#include <arpa/inet.h>
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
#include "gw_keys.h"
#include "gw_routes.h"
#include "gw_static.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define GW_SSE_SNDBUF (16 * 1024)
#define GW_LIMIT_SLOTS 8192 /* client addresses and keys remembered by each limit */


/* The client's address as text ("?" if MHD does not say). */
static void gw_client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
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

static enum MHD_Result gw_whoami(gw_req *r)
{
	json_t *o = json_pack("{s:s, s:s}", "id", r->who.id, "role", gw_role_name(r->who.role));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return gw_respond_json(r, 200, s, NULL);
}

enum MHD_Result gw_dispatch(gw_req *r)
{
	gw_conns_phase(r->h->conns, r->conn, GW_CONN_BUSY);
	if (r->auth_pending)
		return gw_gate_lookup_start(r);
	switch (r->match.id) {
	case GW_R_WHOAMI: return gw_whoami(r);
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
	snprintf(detail, sizeof detail, "body: over the limit of %zu bytes", r->max_body);
	return gw_respond_error(r, 413, "too_large", detail, NULL);
}

/* First call: the headers are in. Answers errors at once (before any body is read). */
static enum MHD_Result gw_on_headers(gw_req *r, const char *url, const char *method)
{
	gw_http *h = r->h;
	char allow[64];
	bool done = false;
	enum MHD_Result ret = gw_gate_framing(r, &done);
	if (done)
		return ret;
	if (!gw_route_match(url, &r->match))
		return gw_respond_error(r, 404, "not_found", "no such route or incident", NULL);
	r->max_body = (size_t)gw_route_max_body(&r->match, h->deps.cfg->max_body);
	r->method = gw_method_bit(method);
	if (!(r->match.allowed & r->method)) {
		gw_allow_header(r->match.allowed, allow, sizeof allow);
		const char *extra[] = {"Allow", allow, NULL};
		char detail[96];
		snprintf(detail, sizeof detail, "%.16s: allowed are %s", method, allow);
		return gw_respond_error(r, 405, "method_not_allowed", detail, extra);
	}
	if (r->match.needs_key) {
		ret = gw_gate_auth(r, &done);
		if (done)
			return ret;
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
	tr_buf_init(&r->body, (size_t)h->deps.cfg->max_body + 1);
	if (cl) {
		char *end = NULL;
		unsigned long long n = strtoull(cl, &end, 10);
		if (n > (unsigned long long)r->max_body)
			return gw_respond_too_large(r);
		tr_buf_init(&r->body, (size_t)n + 1); /* no more than declared */
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
	size_t max = r->max_body;
	r->received += size;
	if (r->received > max) {
		tr_buf_free(&r->body);
		r->too_large = true;
		if (r->received > GW_DISCARD_FACTOR * max) {
			tr_debug("http: body past %zu bytes, closing the connection",
				 GW_DISCARD_FACTOR * max);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (r->keep_body && !tr_buf_add(&r->body, data, size))
		return MHD_NO; /* out of memory (the size is within the cap) */
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
		snprintf(r->path, sizeof r->path, "%.8s %.80s", method, url);
		for (char *c = r->path; *c; c++) /* it goes into log lines */
			if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
				*c = '?';
		gw_client_addr(conn, r->addr, sizeof r->addr);
		gw_conns_phase(h->conns, conn, GW_CONN_BODY);
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
		gw_release_slot(r);
		if (r->looking_up) {
			bool done;
			enum MHD_Result ret = gw_gate_lookup_finish(r, &done);
			return done ? ret : gw_dispatch(r);
		}
		return gw_finish_store(r);
	default: return MHD_YES;
	}
}

static void gw_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	gw_req *r = *con_cls;
	(void)cls;
	if (!r)
		return;
	if (r->call) /* the client went away after its answer came: done has run */
		gw_call_release(r->call);
	if (r->parked)
		atomic_fetch_sub(&r->h->parked, 1);
	gw_release_slot(r);
	gw_conns_phase(r->h->conns, conn, GW_CONN_HEADERS);
	explicit_bzero(r->new_key, sizeof r->new_key);
	gw_metrics_request(r->h->metrics, r->match.id, r->method, r->status,
			   tr_mono_us() - r->start_us);
	if (tr_log_threshold <= TR_LOG_DEBUG)
		tr_debug("http %s -> %d (%lld us%s)", r->path, r->status,
			 (long long)(tr_mono_us() - r->start_us),
			 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ", not completed");
	pthread_mutex_destroy(&r->mu);
	tr_buf_free(&r->body);
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

/* The limits of gw_gate and gw_conn, from the configuration. */
static int gw_limits_new(gw_http *h)
{
	const gw_config *cfg = h->deps.cfg;
	double fails = (double)cfg->auth_fails_per_min;
	long high_water = cfg->http_max_conns - cfg->http_max_conns / 8 - 2;
	h->per_key = gw_limit_new((double)cfg->rate_per_key, 2.0 * (double)cfg->rate_per_key,
				  GW_LIMIT_SLOTS);
	h->per_addr = gw_limit_new((double)cfg->rate_per_addr, 2.0 * (double)cfg->rate_per_addr,
				   GW_LIMIT_SLOTS);
	h->auth_fails = gw_limit_new(fails / 60.0, fails, GW_LIMIT_SLOTS);
	h->inflight = gw_limit_new(0, 1, GW_LIMIT_SLOTS);
	if (!h->per_key || !h->per_addr || !h->auth_fails || !h->inflight)
		return TR_ERR_NOMEM;
	return gw_conns_start(cfg->http_header_timeout_ms, cfg->http_body_timeout_ms,
			      high_water < 2 ? 2 : high_water, &h->conns);
}

static void gw_limits_free(gw_http *h)
{
	gw_conns_stop(h->conns);
	gw_limit_free(h->per_key);
	gw_limit_free(h->per_addr);
	gw_limit_free(h->auth_fails);
	gw_limit_free(h->inflight);
}

/* libmicrohttpd's accept policy: none once the gateway is stopping. */
static enum MHD_Result gw_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	const gw_http *h = cls;
	(void)addr;
	(void)addrlen;
	return atomic_load(&h->closing) ? MHD_NO : MHD_YES;
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
	atomic_init(&h->closing, false);
	atomic_init(&h->last_warn_ms, 0);
	atomic_init(&h->last_limit_warn_ms, 0);
	const gw_config *cfg = deps->cfg;
	if (gw_limits_new(h) != TR_OK) {
		gw_limits_free(h);
		gw_metrics_free(h->metrics);
		free(h);
		return TR_ERR_NOMEM;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (cfg->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)gw_mhd_log, NULL},
		{MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->addr},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->http_max_conns, NULL},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->http_max_conns_per_addr, NULL},
		{MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)gw_conns_notify, h->conns},
		{MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
		{MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)gw_completed, NULL},
		{MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)gw_unescape_cb, NULL},
		{cfg->http_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		 (intptr_t)cfg->http_threads, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	h->daemon = MHD_start_daemon(flags, 0, gw_accept, h, gw_handler, h, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!h->daemon) {
		tr_error("http: cannot listen on %s port %ld (in use, or not an address here?)",
			 cfg->http_addr, cfg->http_port);
		gw_limits_free(h);
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

/* Not MHD_quiesce_daemon: in libmicrohttpd 0.9.75 with a thread pool and epoll, it and
 * each worker both take the listening socket out of the worker's epoll set, and the
 * loser aborts the process ("Failed to remove listen FD from epoll set", seen at clean
 * stops beside another suite). The socket stays open until gw_http_stop; a connection
 * made meanwhile is accepted and closed at once. */
void gw_http_quiesce(gw_http *h)
{
	atomic_store(&h->closing, true);
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
	gw_limits_free(h);
	gw_metrics_free(h->metrics);
	free(h);
}
