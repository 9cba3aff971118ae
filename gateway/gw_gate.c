/* gw_gate: the checks at the front door before a request reaches its route: message
 * framing (smuggling), failed-key throttling, keys (configured, cached, or looked up
 * in the store), roles, and request rates per key and per address. Log lines name a
 * key by its id ("cfg1", "k17") or, for a key nobody knows, by the first 8 hex digits
 * of its SHA-256; never by the key. */
#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_http_req.h"
#include "gw_keys.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

typedef struct {
	int content_length;
	int transfer_encoding;
	char first_cl[32];
	bool cl_differ;
} gw_framing;

static enum MHD_Result gw_framing_it(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	gw_framing *f = cls;
	(void)kind;
	if (strcasecmp(key, "Content-Length") == 0) {
		if (f->content_length++ == 0)
			snprintf(f->first_cl, sizeof f->first_cl, "%s", value ? value : "");
		else if (!value || strcmp(value, f->first_cl) != 0)
			f->cl_differ = true;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->transfer_encoding++;
	}
	return MHD_YES;
}

enum MHD_Result gw_gate_framing(gw_req *r, bool *done)
{
	gw_framing f = {0};
	*done = false;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, gw_framing_it, &f);
	const char *detail = NULL;
	if (f.content_length && f.transfer_encoding)
		detail = "Content-Length and Transfer-Encoding together are refused";
	else if (f.content_length > 1)
		detail = "more than one Content-Length header";
	else if (f.transfer_encoding > 1)
		detail = "more than one Transfer-Encoding header";
	if (!detail)
		return MHD_YES;
	*done = true;
	tr_info("http: 400 from %s: %s", r->addr, detail);
	static const char *const close_conn[] = {"Connection", "close", NULL};
	return gw_respond_error(r, 400, "invalid", detail, close_conn);
}

static enum MHD_Result gw_gate_429(gw_req *r, long wait_s, const char *detail)
{
	char after[24];
	snprintf(after, sizeof after, "%ld", wait_s < 1 ? 1 : wait_s);
	const char *extra[] = {"Retry-After", after, NULL};
	return gw_respond_error(r, 429, "too_many_requests", detail, extra);
}

/* At most one "used its burst" line a second: a client held at its rate would
 * otherwise cause one per refilled token. */
static bool gw_gate_may_warn(gw_http *h, int64_t now)
{
	int64_t last = atomic_load(&h->last_limit_warn_ms);
	return now - last >= 1000 && atomic_compare_exchange_strong(&h->last_limit_warn_ms, &last, now);
}

/* A missing or unknown key: 401, logged, and counted against the address. */
static enum MHD_Result gw_gate_failed(gw_req *r, const char *detail, const char *fingerprint)
{
	gw_http *h = r->h;
	static const char *const extra[] = {"WWW-Authenticate", "Bearer", NULL};
	tr_info("auth: 401 %s (key %s) from %s on %s", detail,
		fingerprint ? fingerprint : "none", r->addr, r->path);
	if (gw_limit_take(h->auth_fails, r->addr, tr_mono_ms()) == 0 &&
	    gw_limit_peek(h->auth_fails, r->addr, tr_mono_ms()) > 0)
		tr_warn("auth: %s sent %ld failed keys within a minute: throttled (429)",
			r->addr, h->deps.cfg->auth_fails_per_min);
	return gw_respond_error(r, 401, "unauthorized", detail, extra);
}

/* The key is known: role, then its rate. */
static enum MHD_Result gw_gate_allowed(gw_req *r, bool *done)
{
	gw_http *h = r->h;
	gw_role need = gw_route_role(&r->match, r->method);
	char detail[128];
	memcpy(r->tenant, r->who.digest, GW_SHA256_LEN);
	if (!gw_role_allows(r->who.role, need)) {
		*done = true;
		tr_info("auth: 403 key %s (%s) on %s needs %s", r->who.id,
			gw_role_name(r->who.role), r->path, gw_role_name(need));
		snprintf(detail, sizeof detail, "this needs the %s role; the key is a %s",
			 gw_role_name(need), gw_role_name(r->who.role));
		return gw_respond_error(r, 403, "forbidden", detail, NULL);
	}
	int64_t now = tr_mono_ms();
	long wait = gw_limit_take(h->per_key, r->who.id, now);
	if (wait == 0 && gw_limit_peek(h->per_key, r->who.id, now) > 0 && gw_gate_may_warn(h, now))
		tr_warn("limit: key %s used its burst of %ld requests/s: 429 until it slows down",
			r->who.id, h->deps.cfg->rate_per_key);
	if (wait > 0) {
		*done = true;
		tr_debug("limit: 429 key %s over %ld requests/s", r->who.id,
			 h->deps.cfg->rate_per_key);
		return gw_gate_429(r, wait, "too many requests for this key");
	}
	return MHD_YES;
}

enum MHD_Result gw_gate_auth(gw_req *r, bool *done)
{
	gw_http *h = r->h;
	char key[GW_AUTH_KEY_MAX + 1];
	size_t len = 0;
	int64_t now = tr_mono_ms();
	*done = true;
	long wait = gw_limit_peek(h->auth_fails, r->addr, now);
	if (wait > 0) {
		tr_debug("auth: 429 %s is throttled after failed keys", r->addr);
		return gw_gate_429(r, wait, "too many failed API keys from this address");
	}
	wait = gw_limit_take(h->per_addr, r->addr, now);
	if (wait == 0 && gw_limit_peek(h->per_addr, r->addr, now) > 0 && gw_gate_may_warn(h, now))
		tr_warn("limit: %s used its burst of %ld requests/s: 429 until it slows down",
			r->addr, h->deps.cfg->rate_per_addr);
	if (wait > 0) {
		tr_debug("limit: 429 %s over %ld requests/s", r->addr, h->deps.cfg->rate_per_addr);
		return gw_gate_429(r, wait, "too many requests from this address");
	}
	bool presented = gw_auth_presented(
		MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-API-KEY"),
		MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"), key, &len);
	if (!presented)
		return gw_gate_failed(r, "an API key is required", NULL);
	gw_auth_result res = gw_auth_check(h->deps.auth, key, len, now, &r->who);
	explicit_bzero(key, sizeof key);
	if (res == GW_AUTH_UNKNOWN)
		return gw_gate_failed(r, "unknown API key", "unusable");
	if (res == GW_AUTH_LOOKUP) {
		/* Asked after the body is in (gw_dispatch); the answer may be cached. */
		r->auth_pending = true;
		*done = false;
		return MHD_YES;
	}
	*done = false;
	return gw_gate_allowed(r, done);
}

enum MHD_Result gw_gate_lookup_start(gw_req *r)
{
	char digest[2 * GW_SHA256_LEN + 1], request_id[GW_REQUEST_ID_LEN + 1];
	proto_kv param = {"digest", digest};
	gw_hex(r->who.digest, GW_SHA256_LEN, digest);
	gw_request_id(request_id);
	proto_msg m = {.type = PROTO_QUERY};
	m.u.query.request_id = request_id;
	m.u.query.op = PROTO_OP_KEY_LOOKUP;
	m.u.query.params = &param;
	m.u.query.nparams = 1;
	r->looking_up = true;
	return gw_send_to_store(r, &m, r->h->deps.cfg->store_timeout_ms);
}

enum MHD_Result gw_gate_lookup_finish(gw_req *r, bool *done)
{
	gw_http *h = r->h;
	proto_msg reply;
	char fp[9];
	int rc = gw_call_result(r->call, &reply);
	gw_call_release(r->call);
	r->call = NULL;
	r->looking_up = false;
	*done = true;
	if (rc != TR_OK)
		return gw_respond_error(r, 503, "unavailable",
					"the store did not answer the key lookup", NULL);
	int code = reply.u.reply.code;
	bool parsed = code == TR_OK && gw_keys_parse_lookup(reply.u.reply.json, &r->who);
	proto_msg_free(&reply);
	if (code == TR_ERR_NOT_FOUND || (code == TR_OK && !parsed)) {
		gw_auth_fingerprint(r->who.digest, fp);
		return gw_gate_failed(r, "unknown API key", fp);
	}
	if (code != TR_OK)
		return gw_respond_error(r, 503, "unavailable",
					"the store could not look the key up", NULL);
	gw_auth_remember(h->deps.auth, &r->who, tr_mono_ms());
	r->auth_pending = false;
	*done = false;
	return gw_gate_allowed(r, done);
}
