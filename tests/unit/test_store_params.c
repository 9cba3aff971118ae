/* test_store_params: LIST parameters, the cursor, override values and the model name
 * as the store re-checks them (store/store_params.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "store_json.h"
#include "store_params.h"
#include "tr_err.h"

#define KV(k, v) {(char *)(k), (char *)(v)}
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_list_defaults(void **state)
{
	(void)state;
	store_list_query q;
	char d[200];
	assert_int_equal(store_list_parse(NULL, 0, &q, d, sizeof(d)), TR_OK);
	assert_int_equal(q.limit, 50);
	assert_null(q.status);
	assert_false(q.has_q);
	assert_int_equal(q.before_id, 0);
}

static void test_list_all_filters(void **state)
{
	(void)state;
	char cursor[STORE_CURSOR_MAX];
	store_cursor_encode(1234, cursor);
	proto_kv p[] = {KV("status", "triaged"), KV("severity", "high"), KV("category", "network"),
			KV("state", "open"),      KV("q", "50%_off\\"),   KV("limit", "200"),
			KV("cursor", cursor)};
	store_list_query q;
	char d[200];
	assert_int_equal(store_list_parse(p, N(p), &q, d, sizeof(d)), TR_OK);
	assert_string_equal(q.status, "triaged");
	assert_string_equal(q.severity, "high");
	assert_string_equal(q.category, "network");
	assert_string_equal(q.state, "open");
	assert_true(q.has_q);
	assert_string_equal(q.q_like, "%50\\%\\_off\\\\%");
	assert_int_equal(q.limit, 200);
	assert_int_equal(q.before_id, 1234);
}

static void expect_bad(const char *k, const char *v, const char *word)
{
	proto_kv p[] = {KV(k, v)};
	store_list_query q;
	char d[200] = "";
	assert_int_equal(store_list_parse(p, 1, &q, d, sizeof(d)), TR_ERR_INVALID);
	assert_non_null(strstr(d, word));
}

static void test_list_bad_values(void **state)
{
	(void)state;
	expect_bad("status", "bogus", "status");
	expect_bad("severity", "urgent", "severity");
	expect_bad("category", "Network", "category");
	expect_bad("state", "closed", "state");
	expect_bad("limit", "0", "limit");
	expect_bad("limit", "201", "limit");
	expect_bad("limit", "abc", "limit");
	expect_bad("limit", "-5", "limit");
	expect_bad("limit", "+5", "limit");
	expect_bad("limit", "5x", "limit");
	expect_bad("limit", "", "limit");
	expect_bad("limit", "99999999999999999999999", "limit");
	expect_bad("q", "", "q");
	expect_bad("q", "\xff", "q");
	expect_bad("cursor", "%%%", "cursor");
	expect_bad("cursor", "", "cursor");
	expect_bad("nosuch", "1", "unknown");

	char q201[202];
	memset(q201, 'a', 201);
	q201[201] = '\0';
	expect_bad("q", q201, "q");

	proto_kv twice[] = {KV("limit", "5"), KV("limit", "6")};
	store_list_query lq;
	char d[200];
	assert_int_equal(store_list_parse(twice, 2, &lq, d, sizeof(d)), TR_ERR_INVALID);
}

static void test_cursor(void **state)
{
	(void)state;
	char c[STORE_CURSOR_MAX];
	int64_t ids[] = {1, 42, 999999, INT64_MAX};
	for (size_t i = 0; i < N(ids); i++) {
		store_cursor_encode(ids[i], c);
		assert_true(strlen(c) > 0);
		assert_null(strpbrk(c, "+/="));
		assert_int_equal(store_cursor_decode(c), ids[i]);
	}
	/* not ours: garbage, zero, negative, leading zeros, overflow, too long */
	char buf[64];
	assert_int_equal(store_cursor_decode("%%%"), -1);
	assert_int_equal(store_cursor_decode(NULL), -1);
	assert_true(store_b64url_encode("0", 1, buf, sizeof(buf)));
	assert_int_equal(store_cursor_decode(buf), -1);
	assert_true(store_b64url_encode("-5", 2, buf, sizeof(buf)));
	assert_int_equal(store_cursor_decode(buf), -1);
	assert_true(store_b64url_encode("007", 3, buf, sizeof(buf)));
	assert_int_equal(store_cursor_decode(buf), -1);
	assert_true(store_b64url_encode("12a", 3, buf, sizeof(buf)));
	assert_int_equal(store_cursor_decode(buf), -1);
	assert_true(store_b64url_encode("9999999999999999999", 19, buf, sizeof(buf)));
	assert_int_equal(store_cursor_decode(buf), -1);
	assert_int_equal(store_cursor_decode("MTIzMTIzMTIzMTIzMTIzMTIzMTIzMTIzMTIzMTIzMTIz"), -1);
}

static void test_override(void **state)
{
	(void)state;
	const char *sev, *cat;
	bool ss, sc;
	char d[200];
	proto_kv a[] = {KV("severity", "critical")};
	assert_int_equal(store_override_parse(a, 1, &sev, &ss, &cat, &sc, d, sizeof(d)), TR_OK);
	assert_true(ss);
	assert_false(sc);
	assert_string_equal(sev, "critical");

	proto_kv clear[] = {KV("severity", ""), KV("category", "")};
	assert_int_equal(store_override_parse(clear, 2, &sev, &ss, &cat, &sc, d, sizeof(d)), TR_OK);
	assert_true(ss && sc);
	assert_string_equal(sev, "");
	assert_string_equal(cat, "");

	proto_kv bad[] = {KV("severity", "urgent")};
	assert_int_equal(store_override_parse(bad, 1, &sev, &ss, &cat, &sc, d, sizeof(d)),
			 TR_ERR_INVALID);
	proto_kv badcat[] = {KV("category", "weather")};
	assert_int_equal(store_override_parse(badcat, 1, &sev, &ss, &cat, &sc, d, sizeof(d)),
			 TR_ERR_INVALID);
	proto_kv other[] = {KV("state", "resolved")};
	assert_int_equal(store_override_parse(other, 1, &sev, &ss, &cat, &sc, d, sizeof(d)),
			 TR_ERR_INVALID);
	assert_int_equal(store_override_parse(NULL, 0, &sev, &ss, &cat, &sc, d, sizeof(d)),
			 TR_ERR_INVALID);
}

static void test_model(void **state)
{
	(void)state;
	assert_true(store_model_ok("phi3:mini"));
	assert_true(store_model_ok("library/llama3.1:8b-instruct-q4_K_M"));
	assert_false(store_model_ok(""));
	assert_false(store_model_ok(NULL));
	assert_false(store_model_ok("bad model; drop"));
	assert_false(store_model_ok("é"));
	char longname[300];
	memset(longname, 'm', 256);
	longname[256] = '\0';
	assert_false(store_model_ok(longname));
	longname[255] = '\0';
	assert_true(store_model_ok(longname));
}

static void test_enums(void **state)
{
	(void)state;
	assert_true(store_is_status("processing"));
	assert_false(store_is_status(NULL));
	assert_true(store_is_severity("low"));
	assert_false(store_is_severity("Low"));
	assert_true(store_is_category("dependency"));
	assert_true(store_is_state("acknowledged"));
	assert_false(store_is_state(""));
}

static void test_resolve_params(void **state)
{
	(void)state;
	const char *note, *fb;
	char detail[200];
	proto_kv both[] = {{"note", "restarted it"}, {"feedback", "wrong"}};
	assert_int_equal(store_resolve_parse(both, 2, false, &note, &fb, detail, sizeof detail), TR_OK);
	assert_string_equal(note, "restarted it");
	assert_string_equal(fb, "wrong");
	assert_int_equal(store_resolve_parse(NULL, 0, false, &note, &fb, detail, sizeof detail), TR_OK);
	assert_null(note);
	assert_null(fb);
	/* feedback alone: required there, and nothing else */
	assert_int_equal(store_resolve_parse(both + 1, 1, true, &note, &fb, detail, sizeof detail), TR_OK);
	assert_int_equal(store_resolve_parse(NULL, 0, true, &note, &fb, detail, sizeof detail),
			 TR_ERR_INVALID);
	assert_int_equal(store_resolve_parse(both, 2, true, &note, &fb, detail, sizeof detail),
			 TR_ERR_INVALID);
	char big[PROTO_NOTE_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	proto_kv bad[][2] = {{{"note", ""}}, {{"note", big}}, {{"note", "\xff\xfe"}},
			     {{"feedback", "maybe"}}, {{"notes", "x"}},
			     {{"note", "a"}, {"note", "b"}}};
	size_t nbad[] = {1, 1, 1, 1, 1, 2};
	for (size_t i = 0; i < sizeof nbad / sizeof nbad[0]; i++) {
		if (store_resolve_parse(bad[i], nbad[i], false, &note, &fb, detail, sizeof detail) !=
		    TR_ERR_INVALID)
			fail_msg("case %zu accepted", i);
	}
	big[PROTO_NOTE_MAX] = '\0';
	proto_kv max[] = {{"note", big}};
	assert_int_equal(store_resolve_parse(max, 1, false, &note, &fb, detail, sizeof detail), TR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_defaults), cmocka_unit_test(test_list_all_filters),
		cmocka_unit_test(test_list_bad_values), cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_override),      cmocka_unit_test(test_model),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_resolve_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
