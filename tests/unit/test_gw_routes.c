/* test_gw_routes: the route table (paths, ids, methods, keys), Allow headers, the store
 * request each route builds (op, id, params, namespaced idempotency key) and the HTTP
 * status for each store answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_auth.h"
#include "gw_routes.h"
#include "tr_err.h"

static void test_match_fixed(void **state)
{
	(void)state;
	gw_match m;
	assert_true(gw_route_match("/incidents", &m));
	assert_int_equal(m.id, GW_R_INCIDENTS);
	assert_int_equal(m.allowed, GW_M_GET | GW_M_POST);
	assert_true(m.needs_key);
	assert_true(gw_route_match("/stats", &m));
	assert_int_equal(m.id, GW_R_STATS);
	assert_true(gw_route_match("/settings", &m));
	assert_int_equal(m.allowed, GW_M_GET | GW_M_PUT);
	assert_true(gw_route_match("/events", &m));
	assert_int_equal(m.id, GW_R_EVENTS);
	assert_true(m.needs_key);
	assert_true(gw_route_match("/healthz", &m));
	assert_false(m.needs_key);
	assert_true(gw_route_match("/readyz", &m));
	assert_false(m.needs_key);
	assert_int_equal(m.id, GW_R_READYZ);
}

static void test_match_incident(void **state)
{
	(void)state;
	gw_match m;
	assert_true(gw_route_match("/incidents/42", &m));
	assert_int_equal(m.id, GW_R_INCIDENT);
	assert_int_equal(m.incident_id, 42);
	assert_int_equal(m.allowed, GW_M_GET | GW_M_PATCH);
	assert_true(gw_route_match("/incidents/7/retriage", &m));
	assert_int_equal(m.id, GW_R_RETRIAGE);
	assert_int_equal(m.incident_id, 7);
	assert_int_equal(m.allowed, GW_M_POST);
	assert_true(gw_route_match("/incidents/7/acknowledge", &m));
	assert_int_equal(m.id, GW_R_ACK);
	assert_true(gw_route_match("/incidents/9223372036854775807/resolve", &m));
	assert_int_equal(m.id, GW_R_RESOLVE);
	assert_int_equal(m.incident_id, INT64_MAX);
	/* not a positive integer, or unknown action: no such incident/route (404) */
	const char *bad[] = {"/incidents/0",	       "/incidents/abc",	 "/incidents/-1",
			     "/incidents/01",	       "/incidents/",		 "/incidents/1/",
			     "/incidents/1/delete",   "/incidents/1/retriage/x", "/incidents//1",
			     "/incidents/1e3",	       "/incidents/9223372036854775808",
			     "/incidents/ 1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (gw_route_match(bad[i], &m))
			fail_msg("%s matched route %d", bad[i], m.id);
	}
}

static void test_match_static(void **state)
{
	(void)state;
	gw_match m;
	assert_true(gw_route_match("/", &m));
	assert_int_equal(m.id, GW_R_STATIC);
	assert_string_equal(m.file, "index.html");
	assert_false(m.needs_key);
	assert_int_equal(m.allowed, GW_M_GET | GW_M_HEAD);
	assert_true(gw_route_match("/app.js", &m));
	assert_string_equal(m.file, "app.js");
	assert_true(gw_route_match("/vendor/chart.min.js", &m));
	assert_string_equal(m.file, "vendor/chart.min.js");
	assert_false(gw_route_match("/../etc/passwd", &m));
	assert_false(gw_route_match("/.git/config", &m));
	assert_false(gw_route_match("/a//b", &m));
	/* /stats/ or /healthz/x are not API routes and not valid files either way */
	assert_true(gw_route_match("/stats.js", &m));
	assert_int_equal(m.id, GW_R_STATIC);
}

static void test_methods_allow(void **state)
{
	(void)state;
	char allow[64];
	assert_int_equal(gw_method_bit("GET"), GW_M_GET);
	assert_int_equal(gw_method_bit("PATCH"), GW_M_PATCH);
	assert_int_equal(gw_method_bit("get"), GW_M_OTHER);
	assert_int_equal(gw_method_bit("BREW"), GW_M_OTHER);
	gw_allow_header(GW_M_GET | GW_M_POST, allow, sizeof allow);
	assert_string_equal(allow, "GET, POST");
	gw_allow_header(GW_M_GET | GW_M_HEAD, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD");
	gw_allow_header(GW_M_GET | GW_M_PATCH, allow, sizeof allow);
	assert_string_equal(allow, "GET, PATCH");
	gw_allow_header(GW_M_POST, allow, sizeof allow);
	assert_string_equal(allow, "POST");
}

static void test_body_and_store_routes(void **state)
{
	(void)state;
	gw_match m;
	gw_route_match("/incidents", &m);
	assert_true(gw_route_takes_body(&m, GW_M_POST));
	assert_false(gw_route_takes_body(&m, GW_M_GET));
	assert_true(gw_route_uses_store(&m));
	gw_route_match("/incidents/3", &m);
	assert_true(gw_route_takes_body(&m, GW_M_PATCH));
	gw_route_match("/incidents/3/resolve", &m); /* an optional note and feedback */
	assert_true(gw_route_takes_body(&m, GW_M_POST));
	gw_route_match("/incidents/3/feedback", &m);
	assert_true(gw_route_takes_body(&m, GW_M_POST));
	assert_int_equal(m.allowed, GW_M_POST);
	assert_true(gw_route_match("/incidents/3/similar", &m));
	assert_int_equal(m.id, GW_R_SIMILAR);
	assert_int_equal(m.allowed, GW_M_GET);
	assert_false(gw_route_takes_body(&m, GW_M_GET));
	assert_true(gw_route_uses_store(&m));
	gw_route_match("/settings", &m);
	assert_true(gw_route_takes_body(&m, GW_M_PUT));
	gw_route_match("/healthz", &m);
	assert_false(gw_route_uses_store(&m));
	gw_route_match("/readyz", &m);
	assert_true(gw_route_uses_store(&m));
	gw_route_match("/events", &m);
	assert_false(gw_route_uses_store(&m));
	gw_route_match("/index.html", &m);
	assert_false(gw_route_uses_store(&m));
}

static bool build(const char *path, unsigned method, const char *body, const gw_param *params,
		  size_t np, const char *idem, gw_store_request *out, char *detail)
{
	static uint8_t tenant[32];
	gw_match m;
	assert_true(gw_route_match(path, &m));
	gw_http_input in = {method, body ? body : "", body ? strlen(body) : 0, params, np, idem,
			    tenant, NULL, NULL};
	return gw_build_request(&m, &in, out, detail, GW_DETAIL_MAX);
}

static void test_build_submit(void **state)
{
	(void)state;
	gw_store_request r;
	char detail[GW_DETAIL_MAX];
	assert_true(build("/incidents", GW_M_POST,
			  "{\"title\":\"Disk Full\",\"description\":\"d\",\"labels\":{\"a\":\"b\"}}",
			  NULL, 0, NULL, &r, detail));
	assert_int_equal(r.msg.type, PROTO_SUBMIT);
	assert_string_equal(r.msg.u.submit.title, "Disk Full");
	assert_int_equal(r.msg.u.submit.nlabels, 1);
	assert_string_equal(r.msg.u.submit.labels[0].value, "b");
	assert_null(r.msg.u.submit.idempotency_key);
	assert_int_equal(strlen(r.msg.u.submit.request_id), GW_REQUEST_ID_LEN);
	char first_id[GW_REQUEST_ID_LEN + 1];
	strcpy(first_id, r.request_id);
	gw_store_request_free(&r);

	assert_true(build("/incidents", GW_M_POST, "{\"title\":\"t\",\"description\":\"\"}", NULL,
			  0, "retry-7", &r, detail));
	assert_string_not_equal(r.request_id, first_id); /* a fresh id per request */
	uint8_t tenant[32] = {0};
	char want[65];
	gw_auth_idempotency_key(tenant, "retry-7", 7, want);
	assert_string_equal(r.msg.u.submit.idempotency_key, want);
	gw_store_request_free(&r);

	assert_false(build("/incidents", GW_M_POST, "{\"title\":\"t\",\"description\":\"\"}", NULL,
			   0, "bad key", &r, detail));
	assert_non_null(strstr(detail, "Idempotency-Key"));
	gw_store_request_free(&r);
	assert_false(build("/incidents", GW_M_POST, "{}", NULL, 0, NULL, &r, detail));
	assert_non_null(strstr(detail, "title: required"));
	gw_store_request_free(&r);
}

static void test_resolve_and_feedback_bodies(void **state)
{
	(void)state;
	gw_store_request r;
	char detail[GW_DETAIL_MAX];
	assert_true(build("/incidents/2/resolve", GW_M_POST,
			  "{\"note\":\"same as #1: grew \u00e9 /var\",\"feedback\":\"right\"}",
			  NULL, 0, NULL, &r, detail));
	assert_string_equal(proto_kv_get(r.msg.u.query.params, 2, "note"),
			    "same as #1: grew \xc3\xa9 /var");
	assert_string_equal(proto_kv_get(r.msg.u.query.params, 2, "feedback"), "right");
	gw_store_request_free(&r);
	char *big = malloc(PROTO_NOTE_MAX + 32);
	assert_non_null(big);
	int n = snprintf(big, PROTO_NOTE_MAX + 32, "{\"note\":\"%0*d\"}", PROTO_NOTE_MAX, 0);
	assert_true(n > PROTO_NOTE_MAX);
	assert_true(build("/incidents/2/resolve", GW_M_POST, big, NULL, 0, NULL, &r, detail));
	gw_store_request_free(&r);
	snprintf(big, PROTO_NOTE_MAX + 32, "{\"note\":\"%0*d\"}", PROTO_NOTE_MAX + 1, 0);
	assert_false(build("/incidents/2/resolve", GW_M_POST, big, NULL, 0, NULL, &r, detail));
	assert_non_null(strstr(detail, "note"));
	free(big);
	static const struct {
		const char *path, *body, *why;
	} bad[] = {
		{"/incidents/2/resolve", "{\"note\":\"\"}", "note"},
		{"/incidents/2/resolve", "{\"note\":5}", "note"},
		{"/incidents/2/resolve", "{\"feedback\":\"maybe\"}", "feedback"},
		{"/incidents/2/resolve", "{\"fedback\":\"right\"}", "unknown field"},
		{"/incidents/2/resolve", "{\"note\":\"a\",\"note\":\"b\"}", "invalid JSON"},
		{"/incidents/2/resolve", "[\"note\"]", "JSON object"},
		{"/incidents/2/resolve", "{\"note\":\"a\\u0000b\"}", "invalid JSON"},
		{"/incidents/2/feedback", "{}", "feedback"},
		{"/incidents/2/feedback", "{\"note\":\"x\",\"feedback\":\"right\"}", "unknown field"},
		{"/incidents/2/feedback", "", "empty"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (build(bad[i].path, GW_M_POST, bad[i].body, NULL, 0, NULL, &r, detail))
			fail_msg("%s %s: accepted", bad[i].path, bad[i].body);
		if (!strstr(detail, bad[i].why))
			fail_msg("%s: detail '%s' lacks '%s'", bad[i].body, detail, bad[i].why);
	}
}

static void test_build_queries(void **state)
{
	(void)state;
	gw_store_request r;
	char detail[GW_DETAIL_MAX];
	gw_param p[] = {{"status", "failed", 6}, {"limit", "10", 2}};
	assert_true(build("/incidents", GW_M_GET, NULL, p, 2, NULL, &r, detail));
	assert_int_equal(r.msg.type, PROTO_QUERY);
	assert_int_equal(r.msg.u.query.op, PROTO_OP_LIST);
	assert_int_equal(r.msg.u.query.nparams, 2);
	assert_string_equal(proto_kv_get(r.msg.u.query.params, 2, "limit"), "10");
	gw_store_request_free(&r);

	struct {
		const char *path;
		unsigned method;
		const char *body;
		int op;
		int64_t id;
		size_t nparams;
	} cases[] = {
		{"/incidents/5", GW_M_GET, NULL, PROTO_OP_GET, 5, 0},
		{"/incidents/5", GW_M_PATCH, "{\"category\":null}", PROTO_OP_OVERRIDE, 5, 1},
		{"/incidents/6/retriage", GW_M_POST, NULL, PROTO_OP_RETRIAGE, 6, 0},
		{"/incidents/6/acknowledge", GW_M_POST, NULL, PROTO_OP_ACKNOWLEDGE, 6, 0},
		{"/incidents/6/resolve", GW_M_POST, NULL, PROTO_OP_RESOLVE, 6, 0},
		{"/incidents/6/resolve", GW_M_POST, "{\"note\":\"restarted the pool\"}",
		 PROTO_OP_RESOLVE, 6, 1},
		{"/incidents/6/resolve", GW_M_POST, "{\"note\":\"x\",\"feedback\":\"wrong\"}",
		 PROTO_OP_RESOLVE, 6, 2},
		{"/incidents/6/resolve", GW_M_POST, "{\"note\":null,\"feedback\":null}",
		 PROTO_OP_RESOLVE, 6, 0},
		{"/incidents/6/feedback", GW_M_POST, "{\"feedback\":\"right\"}", PROTO_OP_FEEDBACK,
		 6, 1},
		{"/incidents/6/similar", GW_M_GET, NULL, PROTO_OP_SIMILAR, 6, 0},
		{"/stats", GW_M_GET, NULL, PROTO_OP_STATS, 0, 0},
		{"/settings", GW_M_GET, NULL, PROTO_OP_SETTINGS_GET, 0, 0},
		{"/settings", GW_M_PUT, "{\"model\":\"phi3:mini\"}", PROTO_OP_SETTINGS_PUT, 0, 1},
		{"/readyz", GW_M_GET, NULL, PROTO_OP_READY, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!build(cases[i].path, cases[i].method, cases[i].body, NULL, 0, NULL, &r,
			   detail))
			fail_msg("%s: %s", cases[i].path, detail);
		assert_int_equal(r.msg.type, PROTO_QUERY);
		assert_int_equal(r.msg.u.query.op, cases[i].op);
		assert_int_equal(r.msg.u.query.incident_id, cases[i].id);
		assert_int_equal(r.msg.u.query.nparams, cases[i].nparams);
		assert_ptr_equal(r.msg.u.query.request_id, r.request_id);
		gw_store_request_free(&r);
	}
	assert_true(build("/incidents/5", GW_M_PATCH, "{\"category\":null}", NULL, 0, NULL, &r,
			  detail));
	assert_string_equal(r.msg.u.query.params[0].key, "category");
	assert_string_equal(r.msg.u.query.params[0].value, "");
	gw_store_request_free(&r);
	assert_true(build("/settings", GW_M_PUT, "{\"model\":\"phi3:mini\"}", NULL, 0, NULL, &r,
			  detail));
	assert_string_equal(proto_kv_get(r.msg.u.query.params, 1, "model"), "phi3:mini");
	gw_store_request_free(&r);

	/* parameters anywhere else are refused */
	assert_false(build("/stats", GW_M_GET, NULL, p, 1, NULL, &r, detail));
	assert_non_null(strstr(detail, "takes no parameters"));
	gw_store_request_free(&r);
	gw_param bad[] = {{"status", "nope", 4}};
	assert_false(build("/incidents", GW_M_GET, NULL, bad, 1, NULL, &r, detail));
	gw_store_request_free(&r);
}

static void test_reply_status(void **state)
{
	(void)state;
	gw_match inc, one, re, ack;
	gw_route_match("/incidents", &inc);
	gw_route_match("/incidents/1", &one);
	gw_route_match("/incidents/1/retriage", &re);
	gw_route_match("/incidents/1/acknowledge", &ack);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_OK), 202);
	assert_int_equal(gw_reply_status(&inc, GW_M_GET, TR_OK), 200);
	assert_int_equal(gw_reply_status(&re, GW_M_POST, TR_OK), 202);
	assert_int_equal(gw_reply_status(&ack, GW_M_POST, TR_OK), 200);
	assert_int_equal(gw_reply_status(&one, GW_M_PATCH, TR_OK), 200);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_INVALID), 400);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_TOO_LARGE), 413);
	assert_int_equal(gw_reply_status(&one, GW_M_GET, TR_ERR_NOT_FOUND), 404);
	assert_int_equal(gw_reply_status(&re, GW_M_POST, TR_ERR_CONFLICT), 409);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_UNAVAILABLE), 503);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_DB), 500);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_TIMEOUT), 503);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_INTERNAL), 500);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, TR_ERR_PROTO), 500);
	assert_int_equal(gw_reply_status(&inc, GW_M_POST, 999), 500);
}

/* Every route that needs a key names a role for reads and for writes. */
static void test_route_roles(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		unsigned method;
		gw_role need;
	} cases[] = {
		{"/incidents", GW_M_GET, GW_ROLE_VIEWER},
		{"/incidents", GW_M_POST, GW_ROLE_REPORTER},
		{"/incidents/7", GW_M_GET, GW_ROLE_VIEWER},
		{"/incidents/7", GW_M_HEAD, GW_ROLE_VIEWER},
		{"/incidents/7", GW_M_PATCH, GW_ROLE_RESPONDER},
		{"/incidents/7/similar", GW_M_GET, GW_ROLE_VIEWER},
		{"/incidents/7/feedback", GW_M_POST, GW_ROLE_RESPONDER},
		{"/incidents/7/resolve", GW_M_POST, GW_ROLE_RESPONDER},
		{"/incidents/7/acknowledge", GW_M_POST, GW_ROLE_RESPONDER},
		{"/incidents/7/resolve", GW_M_POST, GW_ROLE_RESPONDER},
		{"/incidents/7/retriage", GW_M_POST, GW_ROLE_RESPONDER},
		{"/stats", GW_M_GET, GW_ROLE_VIEWER},
		{"/settings", GW_M_GET, GW_ROLE_VIEWER},
		{"/settings", GW_M_PUT, GW_ROLE_ADMIN},
		{"/events", GW_M_GET, GW_ROLE_VIEWER},
		{"/keys", GW_M_GET, GW_ROLE_ADMIN},
		{"/keys", GW_M_POST, GW_ROLE_ADMIN},
		{"/keys/3", GW_M_DELETE, GW_ROLE_ADMIN},
		{"/whoami", GW_M_GET, GW_ROLE_VIEWER},
		{"/healthz", GW_M_GET, GW_ROLE_NONE},
		{"/readyz", GW_M_GET, GW_ROLE_NONE},
		{"/", GW_M_GET, GW_ROLE_NONE},
	};
	gw_match m;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_true(gw_route_match(cases[i].path, &m));
		assert_int_equal(gw_route_role(&m, cases[i].method), cases[i].need);
		assert_int_equal(m.needs_key, cases[i].need != GW_ROLE_NONE);
	}
	assert_false(gw_route_match("/keys/0", &m));
	assert_false(gw_route_match("/keys/x", &m));
	assert_true(gw_route_match("/keys/3", &m));
	assert_int_equal(m.allowed, GW_M_DELETE);
}

static void test_build_keys(void **state)
{
	(void)state;
	static uint8_t tenant[32];
	gw_store_request out;
	char detail[GW_DETAIL_MAX];
	gw_match m;
	const char *key = "trk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
	const char *body = "{\"name\":\"ci bot\",\"role\":\"responder\"}";
	assert_true(gw_route_match("/keys", &m));
	gw_http_input in = {GW_M_POST, body, strlen(body), NULL, 0, NULL, tenant, key, NULL};
	assert_true(gw_build_request(&m, &in, &out, detail, sizeof detail));
	assert_int_equal(out.msg.u.query.op, PROTO_OP_KEY_CREATE);
	assert_int_equal(out.msg.u.query.nparams, 3);
	assert_string_equal(proto_kv_get(out.msg.u.query.params, 3, "name"), "ci bot");
	assert_string_equal(proto_kv_get(out.msg.u.query.params, 3, "role"), "responder");
	uint8_t d[32];
	char hex[65];
	gw_sha256(key, strlen(key), d);
	gw_hex(d, 32, hex);
	assert_string_equal(proto_kv_get(out.msg.u.query.params, 3, "digest"), hex);
	gw_store_request_free(&out);
	static const char *const bad[] = {
		"{\"name\":\"x\",\"role\":\"root\"}", "{\"name\":\"\",\"role\":\"viewer\"}",
		"{\"name\":\"a/b\",\"role\":\"viewer\"}", "{\"role\":\"viewer\"}",
		"{\"name\":\"x\",\"role\":\"viewer\",\"key\":\"k\"}",
		"{\"name\":\"x\",\"name\":\"y\",\"role\":\"viewer\"}", "[1]", "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gw_http_input b = {GW_M_POST, bad[i], strlen(bad[i]), NULL, 0, NULL, tenant, key, NULL};
		assert_false(gw_build_request(&m, &b, &out, detail, sizeof detail));
		gw_store_request_free(&out);
	}
	gw_http_input list = {GW_M_GET, "", 0, NULL, 0, NULL, tenant, NULL, NULL};
	assert_true(gw_build_request(&m, &list, &out, detail, sizeof detail));
	assert_int_equal(out.msg.u.query.op, PROTO_OP_KEY_LIST);
	gw_store_request_free(&out);
	assert_true(gw_route_match("/keys/42", &m));
	gw_http_input del = {GW_M_DELETE, "", 0, NULL, 0, NULL, tenant, NULL, NULL};
	assert_true(gw_build_request(&m, &del, &out, detail, sizeof detail));
	assert_int_equal(out.msg.u.query.op, PROTO_OP_KEY_REVOKE);
	assert_string_equal(proto_kv_get(out.msg.u.query.params, 1, "id"), "42");
	gw_store_request_free(&out);
	assert_int_equal(gw_reply_status(&m, GW_M_DELETE, TR_OK), 200);
	assert_true(gw_route_match("/keys", &m));
	assert_int_equal(gw_reply_status(&m, GW_M_POST, TR_OK), 201);
}

static void test_request_ids_unique(void **state)
{
	(void)state;
	char a[GW_REQUEST_ID_LEN + 1], b[GW_REQUEST_ID_LEN + 1];
	gw_request_id(a);
	for (int i = 0; i < 1000; i++) {
		gw_request_id(b);
		assert_int_equal(strlen(b), 32);
		assert_string_not_equal(a, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_fixed),	   cmocka_unit_test(test_match_incident),
		cmocka_unit_test(test_match_static),	   cmocka_unit_test(test_methods_allow),
		cmocka_unit_test(test_body_and_store_routes), cmocka_unit_test(test_build_submit),
		cmocka_unit_test(test_build_queries),	   cmocka_unit_test(test_reply_status),
		cmocka_unit_test(test_request_ids_unique), cmocka_unit_test(test_route_roles),
		cmocka_unit_test(test_build_keys),	   cmocka_unit_test(test_resolve_and_feedback_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
