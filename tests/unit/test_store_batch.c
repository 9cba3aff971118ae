/* test_store_batch: per-submit checks, duplicates inside one group-commit batch, and
 * the INSERT's array parameters (store/store_batch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store_batch.h"

static proto_submit sub(const char *req, const char *key, const char *dedup)
{
	proto_submit s = {0};
	s.request_id = (char *)req;
	s.idempotency_key = (char *)key;
	s.title = "Disk Full";
	s.description = "Production disk at 100%";
	s.dedup_key = (char *)dedup;
	return s;
}

static void test_check(void **state)
{
	(void)state;
	char d[160];
	proto_submit s = sub("r1", NULL, NULL);
	assert_true(store_submit_check(&s, d, sizeof(d)));

	char title[801];
	memset(title, 'x', 200);
	title[200] = '\0';
	s.title = title;
	assert_true(store_submit_check(&s, d, sizeof(d)));
	title[200] = 'x';
	title[201] = '\0';
	assert_false(store_submit_check(&s, d, sizeof(d)));
	assert_non_null(strstr(d, "title"));

	/* 200 characters of 2 bytes each: fine (characters, not bytes) */
	for (int i = 0; i < 200; i++)
		memcpy(title + 2 * i, "\xc3\xa9", 2);
	title[400] = '\0';
	assert_true(store_submit_check(&s, d, sizeof(d)));

	s.title = "";
	assert_false(store_submit_check(&s, d, sizeof(d)));
	s.title = "bad \xff utf8";
	assert_false(store_submit_check(&s, d, sizeof(d)));
	s = sub("r1", NULL, NULL);
	s.description = "\xc3";
	assert_false(store_submit_check(&s, d, sizeof(d)));
	assert_non_null(strstr(d, "description"));
	s = sub("", NULL, NULL);
	assert_false(store_submit_check(&s, d, sizeof(d)));
	s = sub("r1", "", NULL);
	assert_false(store_submit_check(&s, d, sizeof(d)));
	s = sub("r1", NULL, "");
	assert_false(store_submit_check(&s, d, sizeof(d)));

	proto_kv dup[] = {{"env", "prod"}, {"env", "dev"}};
	s = sub("r1", NULL, NULL);
	s.labels = dup;
	s.nlabels = 2;
	assert_false(store_submit_check(&s, d, sizeof(d)));
	proto_kv emptykey[] = {{"", "x"}};
	s.labels = emptykey;
	s.nlabels = 1;
	assert_false(store_submit_check(&s, d, sizeof(d)));
	s.nlabels = PROTO_LABELS_MAX + 1;
	assert_false(store_submit_check(&s, d, sizeof(d)));
}

static void test_plan(void **state)
{
	(void)state;
	proto_submit s[] = {
		sub("a", NULL, NULL),   /* 0 insert */
		sub("b", "k1", NULL),   /* 1 insert */
		sub("a", NULL, NULL),   /* 2 resend of 0 */
		sub("c", "k1", NULL),   /* 3 same key as 1 */
		sub("d", NULL, "cpu"),  /* 4 insert */
		sub("e", NULL, "cpu"),  /* 5 occurrence of 4 */
		sub("", NULL, NULL),    /* 6 invalid */
		sub("e", NULL, "cpu"),  /* 7 resend of 5 (an occurrence) */
		sub("f", "k2", "cpu"),  /* 8 occurrence of 4 */
		sub("g", "k2", "mem"),  /* 9 same key as 8? no: 8 is not an INSERT; insert */
	};
	const proto_submit *p[10];
	store_slot sl[10];
	for (int i = 0; i < 10; i++)
		p[i] = &s[i];
	store_batch_plan(p, 10, sl);
	assert_int_equal(sl[0].kind, STORE_SLOT_INSERT);
	assert_int_equal(sl[1].kind, STORE_SLOT_INSERT);
	assert_int_equal(sl[2].kind, STORE_SLOT_SAME_REQUEST);
	assert_int_equal(sl[2].leader, 0);
	assert_int_equal(sl[3].kind, STORE_SLOT_SAME_KEY);
	assert_int_equal(sl[3].leader, 1);
	assert_int_equal(sl[4].kind, STORE_SLOT_INSERT);
	assert_int_equal(sl[5].kind, STORE_SLOT_OCCURRENCE);
	assert_int_equal(sl[5].leader, 4);
	assert_int_equal(sl[6].kind, STORE_SLOT_INVALID);
	assert_int_equal(sl[6].leader, 6);
	assert_true(strlen(sl[6].detail) > 0);
	assert_int_equal(sl[7].kind, STORE_SLOT_SAME_REQUEST);
	assert_int_equal(sl[7].leader, 5); /* mirrors the occurrence, not its leader */
	assert_int_equal(sl[8].kind, STORE_SLOT_OCCURRENCE);
	assert_int_equal(sl[8].leader, 4);
	assert_int_equal(sl[9].kind, STORE_SLOT_INSERT);
	for (int i = 0; i < 10; i++)
		assert_true(sl[i].leader <= i);
}

static void test_arrays(void **state)
{
	(void)state;
	proto_kv labels[] = {{"team", "st\"or"}, {"env", "prod"}};
	proto_submit s[] = {sub("a", NULL, NULL), sub("a", NULL, NULL), sub("b", "k", "d")};
	s[0].labels = labels;
	s[0].nlabels = 2;
	s[2].source = "curl";
	s[2].description = "line1\nline2 \\ \"q\"";
	const proto_submit *p[] = {&s[0], &s[1], &s[2]};
	store_slot sl[3];
	store_batch_plan(p, 3, sl);
	store_batch_arrays a;
	assert_true(store_batch_arrays_build(p, 3, sl, &a));
	assert_int_equal(a.rows, 2);
	assert_string_equal(a.col[0].data, "{\"a\",\"b\"}");
	assert_string_equal(a.col[1].data, "{NULL,\"k\"}");
	assert_string_equal(a.col[3].data,
			    "{\"Production disk at 100%\",\"line1\nline2 \\\\ \\\"q\\\"\"}");
	assert_string_equal(a.col[4].data, "{NULL,\"curl\"}");
	assert_string_equal(a.col[6].data, "{NULL,\"d\"}");
	/* labels: JSON, then quoted for the array */
	assert_string_equal(a.col[7].data,
			    "{\"{\\\"team\\\":\\\"st\\\\\\\"or\\\",\\\"env\\\":\\\"prod\\\"}\",\"{}\"}");
	store_batch_arrays_free(&a);
}

static void test_format_ts(void **state)
{
	(void)state;
	char ts[48];
	store_format_ts(0, ts);
	assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
	store_format_ts(1795612800123LL, ts);
	assert_string_equal(ts, "2026-11-25T13:20:00.123Z");
	store_format_ts(-1, ts);
	assert_string_equal(ts, "1969-12-31T23:59:59.999Z");
}

/* The reply built in C must have the keys, order and values of triage_incident_json()
 * for a new incident (the integration test compares it with GET as well). */
static void test_created_json(void **state)
{
	(void)state;
	proto_kv labels[] = {{"env", "prod"}};
	proto_submit s = sub("r", NULL, "d\"k");
	s.labels = labels;
	s.nlabels = 1;
	s.service = "db-1";
	char *j = store_created_json(&s, 42, 1795612800123LL, 0, 0);
	assert_non_null(j);
	json_error_t err;
	json_t *doc = json_loads(j, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(doc);
	static const char *const keys[] = {
		"id", "title", "description", "source", "service", "labels", "dedup_key",
		"occurrence_count", "status", "attempt", "failure_reason", "failure_detail", "triage",
		"override", "severity", "category", "state", "version", "created_at", "updated_at",
		"last_seen_at", "acknowledged_at", "resolved_at", "source_severity", "source_links",
		"source_details", "recurrence_of", "recurrences_7d", "resolution_note",
		"triage_feedback"};
	assert_int_equal(json_object_size(doc), sizeof(keys) / sizeof(keys[0]));
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach(doc, key, v)
	{
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(json_integer_value(json_object_get(doc, "id")), 42);
	assert_string_equal(json_string_value(json_object_get(doc, "dedup_key")), "d\"k");
	assert_true(json_is_null(json_object_get(doc, "source")));
	assert_string_equal(json_string_value(json_object_get(doc, "service")), "db-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "labels"), "env")),
			    "prod");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "submitted");
	assert_string_equal(json_string_value(json_object_get(doc, "created_at")),
			    "2026-11-25T13:20:00.123Z");
	assert_true(json_is_null(json_object_get(doc, "triage")));
	json_decref(doc);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_format_ts),
		cmocka_unit_test(test_created_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
