/* test_proto: the message tables, the validator and the encoder: round trips of every
 * message type, every bound at its limit and one over, refused both ways. */
#include <math.h>

#include "proto_fixtures.h"
#include "tr_log.h"

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

/* Types numbered after PROTO_EVENT (each helper's reserved range). */
static void test_round_trip_later_types(void **state)
{
	(void)state;
	static const proto_type later[] = {PROTO_EVENTS_SYNC};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		proto_msg m = full_msg(later[i]), back;
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
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

static void test_raw_encoder_agrees(void **state)
{
	(void)state;
	/* the test encoder packs valid messages the way the decoder accepts */
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		proto_msg m = full_msg(t), back;
		raw_spec spec = {0};
		size_t len;
		void *buf = raw_encode(&m, &spec, &len);
		assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
		free(buf);
	}
}

/* ---- bounds ---- */

static void test_labels_bound(void **state)
{
	(void)state;
	proto_kv kv[PROTO_LABELS_MAX + 1];
	char keys[PROTO_LABELS_MAX + 1][PROTO_LABEL_KEY_MAX + 1];
	char *value = repeat('v', PROTO_LABEL_VALUE_MAX);
	for (int i = 0; i <= PROTO_LABELS_MAX; i++) {
		memset(keys[i], 'k', PROTO_LABEL_KEY_MAX);
		keys[i][PROTO_LABEL_KEY_MAX] = '\0';
		keys[i][0] = (char)('A' + i); /* unique, still at the length bound */
		kv[i] = (proto_kv){keys[i], value};
	}
	for (int t = PROTO_SUBMIT; t <= PROTO_JOB; t += PROTO_JOB - PROTO_SUBMIT) {
		proto_msg m = full_msg(t), back;
		proto_kv **labels = t == PROTO_SUBMIT ? &m.u.submit.labels : &m.u.job.labels;
		size_t *n = t == PROTO_SUBMIT ? &m.u.submit.nlabels : &m.u.job.nlabels;
		*labels = kv;
		*n = PROTO_LABELS_MAX;
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);

		*n = PROTO_LABELS_MAX + 1;
		expect_invalid_both_ways(&m, "labels");
		*n = 2;
		char longkey[PROTO_LABEL_KEY_MAX + 2]; /* a key one byte over */
		memset(longkey, 'z', sizeof(longkey) - 1);
		longkey[sizeof(longkey) - 1] = '\0';
		char *saved = kv[1].key;
		kv[1].key = longkey;
		expect_invalid_both_ways(&m, "labels");
		kv[1].key = "";
		expect_invalid_both_ways(&m, "labels");
		kv[1].key = saved;
		char *longval = repeat('w', PROTO_LABEL_VALUE_MAX + 1);
		kv[1].value = longval;
		expect_invalid_both_ways(&m, "labels");
		kv[1].value = value;
		free(longval);
		/* duplicate keys */
		kv[1].key = kv[0].key;
		expect_invalid_both_ways(&m, "duplicate");
		kv[1].key = saved;
	}
	free(value);
}

static void test_params_bound(void **state)
{
	(void)state;
	proto_kv kv[PROTO_PARAMS_MAX + 1];
	char keys[PROTO_PARAMS_MAX + 1][8];
	char *value = repeat('p', PROTO_PARAM_VALUE_MAX);
	for (int i = 0; i <= PROTO_PARAMS_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		kv[i] = (proto_kv){keys[i], value};
	}
	proto_msg m = full_msg(PROTO_QUERY), back;
	m.u.query.params = kv;
	m.u.query.nparams = PROTO_PARAMS_MAX;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	assert_string_equal(proto_kv_get(back.u.query.params, back.u.query.nparams, "k15"), value);
	assert_null(proto_kv_get(back.u.query.params, back.u.query.nparams, "k16"));
	proto_msg_free(&back);

	m.u.query.nparams = PROTO_PARAMS_MAX + 1;
	expect_invalid_both_ways(&m, "params");
	m.u.query.nparams = 1;
	char *longval = repeat('p', PROTO_PARAM_VALUE_MAX + 1);
	kv[0].value = longval;
	expect_invalid_both_ways(&m, "params");
	free(longval);
	free(value);
}

static void test_actions_bound(void **state)
{
	(void)state;
	char *act = repeat('a', PROTO_ACTION_MAX);
	char *acts[PROTO_ACTIONS_MAX + 1];
	for (int i = 0; i <= PROTO_ACTIONS_MAX; i++)
		acts[i] = act;
	proto_msg m = full_msg(PROTO_RESULT), back;
	m.u.result.actions = acts;
	m.u.result.nactions = PROTO_ACTIONS_MAX;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);

	m.u.result.nactions = PROTO_ACTIONS_MAX + 1;
	expect_invalid_both_ways(&m, "actions");
	m.u.result.nactions = 2;
	char *longact = repeat('a', PROTO_ACTION_MAX + 1);
	acts[1] = longact;
	expect_invalid_both_ways(&m, "actions");
	free(longact);
	free(act);
}

/* Every bounded string at its bound round-trips; one byte more is refused both ways. */
static void test_string_bounds(void **state)
{
	(void)state;
	static const struct {
		proto_type type;
		const char *field;
		size_t max;
	} cases[] = {
		{PROTO_SUBMIT, "request_id", PROTO_SHORT_MAX},
		{PROTO_SUBMIT, "title", PROTO_TITLE_MAX},
		{PROTO_SUBMIT, "description", PROTO_DESC_MAX},
		{PROTO_SUBMIT, "idempotency_key", PROTO_SHORT_MAX},
		{PROTO_SUBMIT, "dedup_key", PROTO_SHORT_MAX},
		{PROTO_QUERY, "request_id", PROTO_SHORT_MAX},
		{PROTO_REPLY, "json", PROTO_JSON_MAX},
		{PROTO_JOB, "title", PROTO_TITLE_MAX},
		{PROTO_JOB, "description", PROTO_DESC_MAX},
		{PROTO_JOB, "model", PROTO_SHORT_MAX},
		{PROTO_RESULT, "summary", PROTO_SUMMARY_MAX},
		{PROTO_RESULT, "detail", PROTO_DETAIL_MAX},
		{PROTO_RESULT, "enricher_id", PROTO_SHORT_MAX},
		{PROTO_HEARTBEAT, "backend", PROTO_SHORT_MAX},
		{PROTO_EVENT, "kind", PROTO_SHORT_MAX},
		{PROTO_EVENT, "category", PROTO_SHORT_MAX},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		proto_msg m = full_msg(cases[i].type), back;
		const proto_schema *sc = proto_schema_of(m.type);
		const proto_field *f = NULL;
		for (size_t j = 0; j < sc->nfields; j++)
			if (strcmp(sc->fields[j].name, cases[i].field) == 0)
				f = &sc->fields[j];
		assert_non_null(f);
		assert_int_equal(f->max, cases[i].max); /* the table says what proto.h says */
		char *s = repeat('s', cases[i].max);
		*PROTO_FIELD_PTR(&m, f, char *) = s;
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
		free(s);
		s = repeat('s', cases[i].max + 1);
		*PROTO_FIELD_PTR(&m, f, char *) = s;
		expect_invalid_both_ways(&m, cases[i].field);
		free(s);
	}
	/* ids are at least one byte */
	proto_msg m = full_msg(PROTO_SUBMIT);
	m.u.submit.request_id = "";
	expect_invalid_both_ways(&m, "request_id");
}

static void test_integer_ranges(void **state)
{
	(void)state;
	proto_msg m;
#define BAD(t, setter, why)                      \
	do {                                     \
		m = full_msg(t);                 \
		setter;                          \
		expect_invalid_both_ways(&m, why); \
	} while (0)
	BAD(PROTO_QUERY, m.u.query.op = 0, "op");
	BAD(PROTO_QUERY, m.u.query.op = PROTO_OP_MAX + 1, "op");
	BAD(PROTO_QUERY, m.u.query.incident_id = -1, "incident_id");
	BAD(PROTO_REPLY, m.u.reply.code = -1, "code");
	BAD(PROTO_REPLY, m.u.reply.code = TR_ERR__COUNT, "code");
	BAD(PROTO_JOB, m.u.job.attempt = -1, "attempt");
	BAD(PROTO_JOB, m.u.job.incident_id = -5, "incident_id");
	BAD(PROTO_RESULT, m.u.result.outcome = 0, "outcome");
	BAD(PROTO_RESULT, m.u.result.outcome = PROTO_OUTCOME_RELEASED + 1, "outcome");
	BAD(PROTO_RESULT, m.u.result.prompt_tokens = -2, "prompt_tokens");
	BAD(PROTO_RESULT, m.u.result.confidence = 1.5, "confidence");
	BAD(PROTO_RESULT, m.u.result.confidence = -0.1, "confidence");
	BAD(PROTO_RESULT, m.u.result.confidence = NAN, "confidence");
	BAD(PROTO_HEARTBEAT, m.u.heartbeat.busy = -1, "busy");
	BAD(PROTO_EVENT, m.u.event.seq = -1, "seq");
	/* a triage without its triage */
	BAD(PROTO_RESULT, m.u.result.summary = NULL, "summary");
	BAD(PROTO_RESULT, m.u.result.backend = NULL, "backend");
#undef BAD
	/* ...but a failure needs none of it */
	proto_msg back;
	m = full_msg(PROTO_RESULT);
	m.u.result.outcome = PROTO_OUTCOME_FAILED;
	m.u.result.summary = m.u.result.severity = m.u.result.category = m.u.result.backend = NULL;
	m.u.result.nactions = 0;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	/* extremes that are allowed */
	m = full_msg(PROTO_JOB);
	m.u.job.attempt = INT32_MAX;
	m.u.job.incident_id = INT64_MAX;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
}

static void test_required_fields(void **state)
{
	(void)state;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		const proto_schema *sc = proto_schema_of(t);
		for (size_t i = 0; i < sc->nfields; i++) {
			proto_msg m = full_msg(t), back;
			raw_spec spec = {.omit = sc->fields[i].name};
			size_t len;
			void *buf = raw_encode(&m, &spec, &len);
			int rc = proto_decode(buf, len, &back, NULL, 0);
			free(buf);
			/* a triaged result also needs summary/severity/category/backend */
			bool triage_field = t == PROTO_RESULT &&
					    (!strcmp(spec.omit, "summary") || !strcmp(spec.omit, "severity") ||
					     !strcmp(spec.omit, "category") || !strcmp(spec.omit, "backend"));
			if (sc->fields[i].required || triage_field) {
				if (rc != TR_ERR_PROTO)
					fail_msg("%s without %s decoded", sc->name, spec.omit);
				if (sc->fields[i].kind == PF_STR) {
					*PROTO_FIELD_PTR(&m, &sc->fields[i], char *) = NULL;
					assert_int_equal(proto_encode(&m, &buf, &len), TR_ERR_INVALID);
				}
			} else {
				if (rc != TR_OK)
					fail_msg("%s without optional %s rejected", sc->name, spec.omit);
				proto_msg_free(&back);
			}
		}
	}
}

static void test_defaults(void **state)
{
	(void)state;
	proto_msg m = min_msg(PROTO_RESULT), back;
	raw_spec spec = {.omit = "prompt_tokens"};
	size_t len;
	void *buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	free(buf);
	assert_int_equal(back.u.result.prompt_tokens, -1);
	assert_int_equal(back.u.result.completion_tokens, -1);
	assert_null(back.u.result.reason);
	assert_int_equal(back.u.result.nactions, 0);
	assert_null(back.u.result.actions);
	proto_msg_free(&back);

	m = min_msg(PROTO_SUBMIT);
	round_trip(&m, &back);
	assert_null(back.u.submit.idempotency_key);
	assert_null(back.u.submit.labels);
	assert_string_equal(back.u.submit.description, "");
	proto_msg_free(&back);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(PROTO_SUBMIT), "submit");
	assert_string_equal(proto_type_name(PROTO_EVENT), "event");
	assert_string_equal(proto_type_name(PROTO_EVENTS_SYNC), "events_sync");
	assert_string_equal(proto_type_name(8), "unknown"); /* reserved for another helper */
	assert_string_equal(proto_type_name(0), "unknown");
	assert_string_equal(proto_type_name(99), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_RETRIAGE), "retriage");
	assert_string_equal(proto_op_name(PROTO_OP_SETTINGS_PUT), "settings_put");
	assert_string_equal(proto_op_name(PROTO_OP_MODEL_GET), "model_get");
	assert_string_equal(proto_op_name(PROTO_OP_SETTINGS_PUT + 1), "unknown");
	assert_string_equal(proto_op_name(0), "unknown");
	assert_string_equal(proto_outcome_name(PROTO_OUTCOME_RETRY), "retry");
	assert_string_equal(proto_outcome_name(-3), "unknown");
	assert_null(proto_kv_get(NULL, 0, "x"));
	assert_string_equal(proto_kv_get(two_labels, 2, "team"), "payments");
	proto_msg zero;
	memset(&zero, 0, sizeof(zero));
	proto_msg_free(&zero); /* safe on a zeroed message */
	proto_msg_free(NULL);
}

/* ALERTS (type 12): round trips, the events bound, the optional delivery key. */
static void test_alerts(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_ALERTS), back;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	m = min_msg(PROTO_ALERTS);
	round_trip(&m, &back);
	assert_null(back.u.alerts.delivery_key);
	assert_int_equal(back.u.alerts.delivery_ttl_ms, 0);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	char *s = repeat('e', PROTO_ALERTS_MAX);
	m = full_msg(PROTO_ALERTS);
	m.u.alerts.events = s;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(s);
	s = repeat('e', PROTO_ALERTS_MAX + 1);
	m.u.alerts.events = s;
	expect_invalid_both_ways(&m, "events");
	free(s);
	m = full_msg(PROTO_ALERTS);
	m.u.alerts.source = NULL;
	expect_invalid_both_ways(&m, "source");
	m = full_msg(PROTO_ALERTS);
	m.u.alerts.delivery_ttl_ms = -1;
	expect_invalid_both_ways(&m, "delivery_ttl_ms");
	assert_string_equal(proto_type_name(PROTO_ALERTS), "alerts");
	assert_string_equal(proto_type_name(8), "unknown"); /* reserved, not defined here */
	assert_string_equal(proto_op_name(PROTO_OP_INTEGRATIONS), "integrations");
	assert_string_equal(proto_op_name(PROTO_OP_MAX), "unknown");
}

/* SUBMIT_BATCH (13) and BATCH_REPLY (14): round trips, submits packed one by one and
 * assembled, the bounds of a batch, and a full batch under the decoder's object cap. */
static void test_batch(void **state)
{
	(void)state;
	static const proto_type types[] = {PROTO_SUBMIT_BATCH, PROTO_BATCH_REPLY};
	for (size_t i = 0; i < 2; i++) {
		proto_msg m = full_msg(types[i]), back;
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
		m = min_msg(types[i]);
		round_trip(&m, &back);
		assert_msg_equal(&m, &back);
		proto_msg_free(&back);
		m = min_msg(types[i]);
		if (types[i] == PROTO_SUBMIT_BATCH)
			m.u.submit_batch.nsubmits = 0;
		else
			m.u.batch_reply.nreplies = 0;
		expect_invalid_both_ways(&m, types[i] == PROTO_SUBMIT_BATCH ? "submits" : "replies");
	}
	/* packed one by one, assembled: the same message as encoded whole */
	proto_msg m = full_msg(PROTO_SUBMIT_BATCH), back;
	proto_packed packed[PROTO_BATCH_MAX + 1];
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(proto_submit_pack(&two_submits[i], &packed[i]), TR_OK);
	void *buf = NULL;
	size_t len = 0;
	assert_int_equal(proto_batch_encode("batch-1", two_confirms, 2, packed, 2, &buf, &len),
			 TR_OK);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(buf);
	free(packed[0].data);
	free(packed[1].data);
	/* a submit the batch could not carry is refused when packed */
	proto_submit bad = two_submits[0];
	bad.title = NULL;
	assert_int_equal(proto_submit_pack(&bad, &packed[0]), TR_ERR_INVALID);
	/* the most submits, each with the most labels: under the object cap */
	proto_kv labels[PROTO_LABELS_MAX];
	char keys[PROTO_LABELS_MAX][8];
	for (int i = 0; i < PROTO_LABELS_MAX; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		labels[i] = (proto_kv){keys[i], "v"};
	}
	proto_submit full = two_submits[0];
	full.labels = labels;
	full.nlabels = PROTO_LABELS_MAX;
	for (size_t i = 0; i <= PROTO_BATCH_MAX; i++)
		assert_int_equal(proto_submit_pack(&full, &packed[i]), TR_OK);
	char *confirms[PROTO_CONFIRMS_MAX];
	for (int i = 0; i < PROTO_CONFIRMS_MAX; i++)
		confirms[i] = "0123456789abcdef0123456789abcdef";
	assert_int_equal(proto_batch_encode("b", confirms, PROTO_CONFIRMS_MAX, packed,
					    PROTO_BATCH_MAX, &buf, &len),
			 TR_OK);
	char err[200];
	if (proto_decode(buf, len, &back, err, sizeof err) != TR_OK)
		fail_msg("a full batch was refused: %s", err);
	assert_int_equal(back.u.submit_batch.nsubmits, PROTO_BATCH_MAX);
	assert_int_equal(back.u.submit_batch.submits[PROTO_BATCH_MAX - 1].nlabels,
			 PROTO_LABELS_MAX);
	proto_msg_free(&back);
	free(buf);
	/* one submit too many, none, or more packed bytes than a batch may carry */
	assert_int_equal(proto_batch_encode("b", NULL, 0, packed, PROTO_BATCH_MAX + 1, &buf, &len),
			 TR_ERR_INVALID);
	assert_int_equal(proto_batch_encode("b", NULL, 0, packed, 0, &buf, &len), TR_ERR_INVALID);
	for (size_t i = 0; i <= PROTO_BATCH_MAX; i++)
		free(packed[i].data);
	char *desc = repeat('d', PROTO_DESC_MAX);
	full.description = desc;
	size_t n = 0, bytes = 0;
	while (bytes <= PROTO_BATCH_BYTES) {
		assert_int_equal(proto_submit_pack(&full, &packed[n]), TR_OK);
		bytes += packed[n++].len;
	}
	assert_int_equal(proto_batch_encode("b", NULL, 0, packed, n, &buf, &len), TR_ERR_INVALID);
	assert_int_equal(proto_batch_encode("b", NULL, 0, packed, n - 1, &buf, &len), TR_OK);
	free(buf);
	/* a submit alone may be larger than PROTO_BATCH_BYTES would allow two of */
	assert_int_equal(proto_batch_encode("b", NULL, 0, packed, 1, &buf, &len), TR_OK);
	free(buf);
	for (size_t i = 0; i < n; i++)
		free(packed[i].data);
	free(desc);
	assert_string_equal(proto_type_name(PROTO_SUBMIT_BATCH), "submit_batch");
	assert_string_equal(proto_type_name(PROTO_BATCH_REPLY), "batch_reply");
}

int main(void)
{
	tr_log_init("test_proto", TR_LOG_ERROR); /* refusals log warnings */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_later_types),
		cmocka_unit_test(test_round_trip_required_only),
		cmocka_unit_test(test_raw_encoder_agrees),
		cmocka_unit_test(test_labels_bound),
		cmocka_unit_test(test_params_bound),
		cmocka_unit_test(test_actions_bound),
		cmocka_unit_test(test_string_bounds),
		cmocka_unit_test(test_integer_ranges),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
