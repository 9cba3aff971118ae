/* test_gw_validate: the gateway's input rules (docs/API.md) on valid bodies and on every
 * kind of bad input: invalid JSON and UTF-8, duplicates, wrong types, unknown fields,
 * sizes at and over each bound; query parameters, overrides, settings, ids, headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_validate.h"
#include "tr_utf8.h"

static char detail[GW_DETAIL_MAX];

static bool submit_ok(const char *body)
{
	gw_submit_body b;
	bool ok = gw_validate_submit(body, strlen(body), &b, detail, sizeof detail);
	if (ok)
		gw_submit_body_free(&b);
	return ok;
}

/* Asserts the body is refused with a detail containing want. */
static void submit_bad(const char *body, size_t len, const char *want)
{
	gw_submit_body b;
	detail[0] = '\0';
	bool ok = gw_validate_submit(body, len, &b, detail, sizeof detail);
	if (ok)
		gw_submit_body_free(&b);
	assert_false(ok);
	if (!strstr(detail, want))
		fail_msg("detail '%s' does not contain '%s'", detail, want);
	assert_null(b.root);
}

static void bad(const char *body, const char *want)
{
	submit_bad(body, strlen(body), want);
}

/* A string of n copies of s. */
static char *rep(const char *s, size_t n)
{
	size_t l = strlen(s);
	char *out = malloc(l * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * l, s, l);
	out[l * n] = '\0';
	return out;
}

static void test_submit_minimal(void **state)
{
	(void)state;
	gw_submit_body b;
	const char *body = "{\"title\":\"Disk Full\",\"description\":\"Production disk at 100%\"}";
	assert_true(gw_validate_submit(body, strlen(body), &b, detail, sizeof detail));
	assert_string_equal(b.submit.title, "Disk Full");
	assert_string_equal(b.submit.description, "Production disk at 100%");
	assert_null(b.submit.source);
	assert_null(b.submit.service);
	assert_null(b.submit.dedup_key);
	assert_int_equal(b.submit.nlabels, 0);
	assert_null(b.submit.request_id);
	assert_null(b.submit.idempotency_key);
	gw_submit_body_free(&b);
	assert_null(b.root);
}

static void test_submit_full(void **state)
{
	(void)state;
	gw_submit_body b;
	const char *body = "{\"title\":\"t\",\"description\":\"\",\"source\":\"alertmanager\","
			   "\"service\":\"db\",\"dedup_key\":\"k1\",\"labels\":{\"env\":\"prod\","
			   "\"team\":\"\"}}";
	assert_true(gw_validate_submit(body, strlen(body), &b, detail, sizeof detail));
	assert_string_equal(b.submit.source, "alertmanager");
	assert_string_equal(b.submit.service, "db");
	assert_string_equal(b.submit.dedup_key, "k1");
	assert_int_equal(b.submit.nlabels, 2);
	assert_ptr_equal(b.submit.labels, b.labels);
	assert_string_equal(b.submit.labels[0].key, "env");
	assert_string_equal(b.submit.labels[0].value, "prod");
	assert_string_equal(b.submit.labels[1].key, "team");
	assert_string_equal(b.submit.labels[1].value, "");
	gw_submit_body_free(&b);
	/* optional fields may be null (= absent) */
	assert_true(submit_ok("{\"title\":\"t\",\"description\":\"d\",\"source\":null,"
			      "\"labels\":null,\"dedup_key\":null}"));
}

static void test_submit_json_errors(void **state)
{
	(void)state;
	bad("", "body: empty");
	bad("{", "body: invalid JSON");
	bad("{\"title\":\"t\",\"description\":\"d\"} x", "body: invalid JSON");
	bad("[1,2]", "body: must be a JSON object");
	bad("\"str\"", "must be a JSON object");
	bad("null", "must be a JSON object");
	bad("{\"title\":\"a\",\"title\":\"b\",\"description\":\"\"}", "duplicate");
	bad("{\"title\":\"a\",\"description\":\"\",\"labels\":{\"k\":\"1\",\"k\":\"2\"}}",
	    "duplicate");
	/* NUL by escape, lone surrogate by escape */
	bad("{\"title\":\"a\\u0000b\",\"description\":\"\"}", "body: invalid JSON");
	bad("{\"title\":\"\\ud800\",\"description\":\"\"}", "body: invalid JSON");
	/* a raw NUL byte inside the body */
	submit_bad("{\"title\":\"a\0\",\"description\":\"\"}", 30, "body: invalid JSON");
}

static void test_submit_invalid_utf8(void **state)
{
	(void)state;
	bad("{\"title\":\"\xff\",\"description\":\"\"}", "invalid UTF-8 at byte 10");
	bad("{\"title\":\"\xc0\xaf\",\"description\":\"\"}", "invalid UTF-8"); /* overlong */
	bad("{\"title\":\"\xed\xa0\x80\",\"description\":\"\"}", "invalid UTF-8"); /* surrogate */
	bad("{\"title\":\"\xf4\x90\x80\x80\",\"description\":\"\"}", "invalid UTF-8"); /* > 10FFFF */
	bad("{\"title\":\"a\",\"description\":\"\xe2\x82\"}", "invalid UTF-8"); /* truncated */
	bad("{\"title\":\"a\",\"description\":\"\",\"labels\":{\"\x80\":\"v\"}}", "invalid UTF-8");
}

static void test_submit_fields(void **state)
{
	(void)state;
	bad("{\"description\":\"d\"}", "title: required");
	bad("{\"title\":\"t\"}", "description: required");
	bad("{\"title\":5,\"description\":\"d\"}", "title: must be a string");
	bad("{\"title\":null,\"description\":\"d\"}", "title: must be a string");
	bad("{\"title\":\"t\",\"description\":[]}", "description: must be a string");
	bad("{\"title\":\"t\",\"description\":\"d\",\"source\":1}", "source: must be a string");
	bad("{\"title\":\"t\",\"description\":\"d\",\"service\":true}", "service: must be a string");
	bad("{\"title\":\"t\",\"description\":\"d\",\"dedup_key\":{}}",
	    "dedup_key: must be a string");
	bad("{\"title\":\"t\",\"description\":\"d\",\"severity\":\"high\"}",
	    "severity: unknown field");
	bad("{\"title\":\"t\",\"description\":\"d\",\"id\":1}", "id: unknown field");
	bad("{\"title\":\"t\",\"description\":\"d\",\"dedup_key\":\"\"}", "dedup_key: must be 1-255");
}

static void test_submit_title_characters(void **state)
{
	(void)state;
	char *body = malloc(2048);
	bad("{\"title\":\"\",\"description\":\"\"}", "title: must be 1-200 characters");

	/* 200 characters of 4 bytes each (800 bytes) is fine; 201 is not. */
	char *t = rep("\xf0\x9f\x94\xa5", 200);
	snprintf(body, 2048, "{\"title\":\"%s\",\"description\":\"\"}", t);
	assert_true(submit_ok(body));
	free(t);
	t = rep("\xf0\x9f\x94\xa5", 201);
	snprintf(body, 2048, "{\"title\":\"%s\",\"description\":\"\"}", t);
	bad(body, "title: must be 1-200 characters");
	free(t);
	/* 200 ASCII at the bound, 201 over */
	t = rep("a", 200);
	snprintf(body, 2048, "{\"title\":\"%s\",\"description\":\"\"}", t);
	assert_true(submit_ok(body));
	free(t);
	t = rep("a", 201);
	snprintf(body, 2048, "{\"title\":\"%s\",\"description\":\"\"}", t);
	bad(body, "title: must be 1-200 characters");
	free(t);
	/* two-byte characters: 200 of them are 400 bytes, still 200 characters */
	t = rep("\xc3\xa9", 200);
	snprintf(body, 2048, "{\"title\":\"%s\",\"description\":\"\"}", t);
	assert_true(submit_ok(body));
	free(t);
	free(body);
}

static void test_submit_sizes(void **state)
{
	(void)state;
	char *body = malloc(40000);
	char *d = rep("x", PROTO_DESC_MAX);
	snprintf(body, 40000, "{\"title\":\"t\",\"description\":\"%s\"}", d);
	assert_true(submit_ok(body));
	free(d);
	d = rep("x", PROTO_DESC_MAX + 1);
	snprintf(body, 40000, "{\"title\":\"t\",\"description\":\"%s\"}", d);
	bad(body, "description: must be at most 16384 bytes");
	free(d);

	const char *fields[] = {"source", "service", "dedup_key"};
	for (int i = 0; i < 3; i++) {
		char want[64];
		d = rep("s", 255);
		snprintf(body, 40000, "{\"title\":\"t\",\"description\":\"\",\"%s\":\"%s\"}",
			 fields[i], d);
		assert_true(submit_ok(body));
		free(d);
		d = rep("s", 256);
		snprintf(body, 40000, "{\"title\":\"t\",\"description\":\"\",\"%s\":\"%s\"}",
			 fields[i], d);
		snprintf(want, sizeof want, "%s: must be", fields[i]);
		bad(body, want);
		free(d);
	}
	free(body);
}

static void test_submit_labels(void **state)
{
	(void)state;
	char body[8192];
	size_t n;
	bad("{\"title\":\"t\",\"description\":\"\",\"labels\":[]}", "labels: must be an object");
	bad("{\"title\":\"t\",\"description\":\"\",\"labels\":\"a\"}", "labels: must be an object");
	bad("{\"title\":\"t\",\"description\":\"\",\"labels\":{\"a\":1}}",
	    "labels.a: must be a string");
	bad("{\"title\":\"t\",\"description\":\"\",\"labels\":{\"a\":{\"b\":\"c\"}}}",
	    "labels.a: must be a string");
	bad("{\"title\":\"t\",\"description\":\"\",\"labels\":{\"\":\"v\"}}",
	    "labels: keys must be 1-64 bytes");

	/* 32 entries fine, 33 not */
	for (int count = 32; count <= 33; count++) {
		n = (size_t)snprintf(body, sizeof body,
				     "{\"title\":\"t\",\"description\":\"\",\"labels\":{");
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(body + n, sizeof body - n, "%s\"k%d\":\"v\"",
					      i ? "," : "", i);
		snprintf(body + n, sizeof body - n, "}}");
		if (count == 32)
			assert_true(submit_ok(body));
		else
			bad(body, "labels: at most 32 entries");
	}
	/* key 64 bytes fine, 65 not; value 256 fine, 257 not */
	char *k = rep("k", 64), *v = rep("v", 256);
	snprintf(body, sizeof body, "{\"title\":\"t\",\"description\":\"\",\"labels\":{\"%s\":\"%s\"}}",
		 k, v);
	assert_true(submit_ok(body));
	free(k);
	k = rep("k", 65);
	snprintf(body, sizeof body, "{\"title\":\"t\",\"description\":\"\",\"labels\":{\"%s\":\"v\"}}",
		 k);
	bad(body, "labels: keys must be 1-64 bytes");
	free(v);
	v = rep("v", 257);
	snprintf(body, sizeof body, "{\"title\":\"t\",\"description\":\"\",\"labels\":{\"a\":\"%s\"}}",
		 v);
	bad(body, "labels.a: must be at most 256 bytes");
	free(k);
	free(v);
}

static void test_unknown_field_name_clipped(void **state)
{
	(void)state;
	char body[1024];
	char *k = rep("\xc3\xa9", 100); /* 200 bytes of two-byte characters */
	snprintf(body, sizeof body, "{\"title\":\"t\",\"description\":\"\",\"%s\":1}", k);
	bad(body, "...: unknown field");
	/* the clipped name is still valid UTF-8 */
	assert_true(tr_utf8_valid(detail, strlen(detail), NULL, NULL));
	assert_true(strlen(detail) < 100);
	free(k);
}

/* ---- query parameters ---- */

static bool params(const gw_param *p, size_t n, proto_kv *out, size_t *nout)
{
	detail[0] = '\0';
	return gw_validate_list_params(p, n, out, nout, detail, sizeof detail);
}

#define P(k, v) {(k), (v), (v) ? strlen(v) : 0}

static void test_params_valid(void **state)
{
	(void)state;
	proto_kv out[PROTO_PARAMS_MAX];
	size_t n = 99;
	assert_true(params(NULL, 0, out, &n));
	assert_int_equal(n, 0);
	gw_param all[] = {P("status", "failed"),	  P("severity", "critical"),
			  P("category", "dependency"),	  P("state", "acknowledged"),
			  P("q", "disk \xc3\xa9t\xc3\xa9"), P("limit", "200"),
			  P("cursor", "MTczMjUzOTAwMDEyMy00Mg==")};
	assert_true(params(all, 7, out, &n));
	assert_int_equal(n, 7);
	assert_string_equal(out[0].key, "status");
	assert_string_equal(out[0].value, "failed");
	assert_string_equal(out[5].value, "200");
	gw_param lim1[] = {P("limit", "1")};
	assert_true(params(lim1, 1, out, &n));
}

static void param_bad(const char *k, const char *v, const char *want)
{
	proto_kv out[PROTO_PARAMS_MAX];
	size_t n = 0;
	gw_param p[] = {P(k, v)};
	assert_false(params(p, 1, out, &n));
	if (!strstr(detail, want))
		fail_msg("%s=%s: detail '%s' lacks '%s'", k, v ? v : "(null)", detail, want);
}

static void test_params_invalid(void **state)
{
	(void)state;
	param_bad("status", "open", "status: must be one of submitted|processing|triaged|failed");
	param_bad("severity", "HIGH", "severity: must be one of");
	param_bad("category", "disk", "category: must be one of");
	param_bad("state", "closed", "state: must be one of");
	param_bad("status", NULL, "status: needs a value");
	param_bad("status", "", "status: needs a value");
	param_bad("limit", "0", "limit: must be an integer 1-200");
	param_bad("limit", "201", "limit");
	param_bad("limit", "050", "limit");
	param_bad("limit", "-1", "limit");
	param_bad("limit", "1e2", "limit");
	param_bad("limit", "99999999999999999999", "limit");
	param_bad("q", "", "q: needs a value");
	param_bad("q", "\xff", "q: invalid UTF-8");
	char *q = rep("\xc3\xa9", 201);
	param_bad("q", q, "q: must be 1-200 characters");
	free(q);
	q = rep("a", 256);
	param_bad("cursor", q, "cursor: not a cursor");
	free(q);
	param_bad("cursor", "a b", "cursor: not a cursor");
	param_bad("cursor", "<script>", "cursor");
	param_bad("sort", "id", "sort: unknown query parameter");
	param_bad("\xff", "x", "unknown query parameter");

	/* NUL inside a value (value_len beyond strlen) */
	proto_kv out[PROTO_PARAMS_MAX];
	size_t n;
	gw_param nul[] = {{"q", "ab", 3}};
	assert_false(params(nul, 1, out, &n));
	assert_non_null(strstr(detail, "NUL"));
	/* repeated */
	gw_param dup[] = {P("status", "failed"), P("status", "triaged")};
	assert_false(params(dup, 2, out, &n));
	assert_non_null(strstr(detail, "status: given more than once"));
	/* too many */
	gw_param many[PROTO_PARAMS_MAX + 1];
	for (int i = 0; i <= PROTO_PARAMS_MAX; i++)
		many[i] = (gw_param)P("q", "x");
	assert_false(params(many, PROTO_PARAMS_MAX + 1, out, &n));
	assert_non_null(strstr(detail, "too many"));
	q = rep("\xc3\xa9", 200);
	gw_param q200[] = {P("q", q)};
	assert_true(params(q200, 1, out, &n));
	free(q);
}

/* ---- overrides, settings, ids, headers ---- */

static void test_override(void **state)
{
	(void)state;
	proto_kv out[2];
	size_t n = 0;
#define OV(s) gw_validate_override((s), strlen(s), out, &n, detail, sizeof detail)
	assert_true(OV("{\"severity\":\"high\"}"));
	assert_int_equal(n, 1);
	assert_string_equal(out[0].key, "severity");
	assert_string_equal(out[0].value, "high");
	assert_true(OV("{\"severity\":null,\"category\":\"network\"}"));
	assert_int_equal(n, 2);
	assert_string_equal(out[0].value, "");
	assert_string_equal(out[1].key, "category");
	assert_string_equal(out[1].value, "network");
	assert_false(OV("{}"));
	assert_non_null(strstr(detail, "give severity and/or category"));
	assert_false(OV("{\"severity\":\"urgent\"}"));
	assert_non_null(strstr(detail, "severity: must be critical|high|medium|low or null"));
	assert_false(OV("{\"category\":3}"));
	assert_non_null(strstr(detail, "category: must be"));
	assert_false(OV("{\"severity\":\"high\",\"state\":\"resolved\"}"));
	assert_non_null(strstr(detail, "state: unknown field"));
	assert_false(OV("{\"severity\":\"high\",\"severity\":\"low\"}"));
	assert_false(OV("not json"));
#undef OV
}

static void test_settings(void **state)
{
	(void)state;
	char model[GW_MODEL_MAX + 1];
#define ST(s) gw_validate_settings((s), strlen(s), model, detail, sizeof detail)
	assert_true(ST("{\"model\":\"phi3:mini\"}"));
	assert_string_equal(model, "phi3:mini");
	assert_true(ST("{\"model\":\"library/llama3.1:8b-instruct_q4.0\"}"));
	assert_false(ST("{\"model\":\"\"}"));
	assert_non_null(strstr(detail, "model: must be 1-255 bytes"));
	assert_false(ST("{\"model\":\"a b\"}"));
	assert_non_null(strstr(detail, "model: only"));
	assert_false(ST("{\"model\":\"$(rm)\"}"));
	assert_false(ST("{}"));
	assert_non_null(strstr(detail, "model: required"));
	assert_false(ST("{\"model\":\"m\",\"x\":1}"));
	assert_non_null(strstr(detail, "x: unknown field"));
	char *m = rep("m", 255), body[400];
	snprintf(body, sizeof body, "{\"model\":\"%s\"}", m);
	assert_true(ST(body));
	free(m);
	m = rep("m", 256);
	snprintf(body, sizeof body, "{\"model\":\"%s\"}", m);
	assert_false(ST(body));
	free(m);
#undef ST
}

static void test_parse_id(void **state)
{
	(void)state;
	int64_t id = 0;
	assert_true(gw_parse_id("42", 2, &id));
	assert_int_equal(id, 42);
	assert_true(gw_parse_id("9223372036854775807", 19, &id));
	assert_int_equal(id, INT64_MAX);
	assert_false(gw_parse_id("9223372036854775808", 19, &id));
	assert_false(gw_parse_id("99999999999999999999", 20, &id));
	assert_false(gw_parse_id("0", 1, &id));
	assert_false(gw_parse_id("007", 3, &id));
	assert_false(gw_parse_id("-1", 2, &id));
	assert_false(gw_parse_id("+1", 2, &id));
	assert_false(gw_parse_id("1a", 2, &id));
	assert_false(gw_parse_id(" 1", 2, &id));
	assert_false(gw_parse_id("", 0, &id));
	assert_true(gw_parse_id("12/retriage", 2, &id)); /* length bounds the segment */
	assert_int_equal(id, 12);
}

static void test_idempotency_key(void **state)
{
	(void)state;
	assert_true(gw_validate_idempotency_key("abc-123", detail, sizeof detail));
	assert_false(gw_validate_idempotency_key("", detail, sizeof detail));
	assert_false(gw_validate_idempotency_key("a b", detail, sizeof detail));
	assert_false(gw_validate_idempotency_key("\xc3\xa9", detail, sizeof detail));
	char *k = rep("k", 255);
	assert_true(gw_validate_idempotency_key(k, detail, sizeof detail));
	free(k);
	k = rep("k", 256);
	assert_false(gw_validate_idempotency_key(k, detail, sizeof detail));
	assert_non_null(strstr(detail, "Idempotency-Key: must be 1-255 bytes"));
	free(k);
	assert_true(gw_is_severity("low"));
	assert_false(gw_is_severity("lo"));
	assert_true(gw_is_category("other"));
	assert_false(gw_is_category(NULL));
}

static void unescaped(const char *in, const char *want, size_t want_len)
{
	char buf[128];
	strcpy(buf, in);
	size_t n = gw_url_unescape(buf);
	assert_int_equal(n, want_len);
	assert_memory_equal(buf, want, want_len + 1);
}

static void test_url_unescape(void **state)
{
	(void)state;
	unescaped("/index.html", "/index.html", 11);
	unescaped("disk+full", "disk full", 9);
	unescaped("a%2Bb%2fc", "a+b/c", 5);
	unescaped("%2e%2e", "..", 2);
	unescaped("%C3%A9", "\xc3\xa9", 2);
	unescaped("/%00index.html", "/%00index.html", 14); /* never a NUL */
	unescaped("%", "%", 1);
	unescaped("%4", "%4", 2);
	unescaped("%zz%4g", "%zz%4g", 6);
	unescaped("%ff", "\xff", 1);
	unescaped("", "", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_minimal),
		cmocka_unit_test(test_submit_full),
		cmocka_unit_test(test_submit_json_errors),
		cmocka_unit_test(test_submit_invalid_utf8),
		cmocka_unit_test(test_submit_fields),
		cmocka_unit_test(test_submit_title_characters),
		cmocka_unit_test(test_submit_sizes),
		cmocka_unit_test(test_submit_labels),
		cmocka_unit_test(test_unknown_field_name_clipped),
		cmocka_unit_test(test_params_valid),
		cmocka_unit_test(test_params_invalid),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_url_unescape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
