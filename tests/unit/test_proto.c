/* test_proto: the wire codec. Round trips of every message type, every bound at its
 * limit and one over, and malformed input of every kind (truncation, garbage, lies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <msgpack.h>

#include "proto.h"
#include "proto_schema.h"
#include "tr_err.h"
#include "tr_log.h"

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

/* ---- a test-side encoder that packs whatever it is told, valid or not ---- */

typedef void (*pack_fn)(msgpack_packer *pk, const void *arg);

typedef struct {
	int version;          /* PROTO_VERSION unless testing versions */
	int type;             /* m->type unless testing types */
	const char *omit;     /* a field left out */
	const char *name;     /* a field whose value fn packs instead; or an extra key */
	pack_fn fn;
	const void *arg;
	bool twice;           /* pack field `name` twice (duplicate key) */
} raw_spec;

static void pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pk_cstr(msgpack_packer *pk, const char *s)
{
	pk_str(pk, s, strlen(s));
}

static void pack_value(msgpack_packer *pk, const proto_msg *m, const proto_field *f)
{
	switch (f->kind) {
	case PF_STR: pk_cstr(pk, *PROTO_FIELD_CPTR(m, f, char *)); break;
	case PF_I64: msgpack_pack_int64(pk, *PROTO_FIELD_CPTR(m, f, int64_t)); break;
	case PF_I32: msgpack_pack_int32(pk, *PROTO_FIELD_CPTR(m, f, int32_t)); break;
	case PF_INT: msgpack_pack_int(pk, *PROTO_FIELD_CPTR(m, f, int)); break;
	case PF_BOOL:
		if (*PROTO_FIELD_CPTR(m, f, bool))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case PF_DBL: msgpack_pack_double(pk, *PROTO_FIELD_CPTR(m, f, double)); break;
	case PF_KV: {
		size_t n = *PROTO_COUNT_CPTR(m, f);
		const proto_kv *kv = *PROTO_FIELD_CPTR(m, f, proto_kv *);
		msgpack_pack_map(pk, n);
		for (size_t i = 0; i < n; i++) {
			pk_cstr(pk, kv[i].key);
			pk_cstr(pk, kv[i].value);
		}
		break;
	}
	case PF_STRV: {
		size_t n = *PROTO_COUNT_CPTR(m, f);
		char **sv = *PROTO_FIELD_CPTR(m, f, char **);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			pk_cstr(pk, sv[i]);
		break;
	}
	}
}

static bool present(const proto_msg *m, const proto_field *f)
{
	if (f->kind == PF_STR)
		return *PROTO_FIELD_CPTR(m, f, char *) != NULL;
	if (f->kind == PF_KV || f->kind == PF_STRV)
		return *PROTO_COUNT_CPTR(m, f) > 0;
	return true;
}

/* Packs m without any validation, changed as spec says. Caller frees the buffer. */
static void *raw_encode(const proto_msg *m, const raw_spec *spec, size_t *len)
{
	const proto_schema *sc = proto_schema_of(m->type);
	assert_non_null(sc);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

	size_t n = 0;
	bool name_is_field = false;
	for (size_t i = 0; i < sc->nfields; i++) {
		const proto_field *f = &sc->fields[i];
		bool is_name = spec->name && strcmp(f->name, spec->name) == 0;
		name_is_field |= is_name;
		if (spec->omit && strcmp(f->name, spec->omit) == 0)
			continue;
		if (present(m, f) || is_name)
			n += (is_name && spec->twice) ? 2 : 1;
	}
	if (spec->name && !name_is_field)
		n++;
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, spec->version ? spec->version : PROTO_VERSION);
	msgpack_pack_int(&pk, spec->type ? spec->type : (int)m->type);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < sc->nfields; i++) {
		const proto_field *f = &sc->fields[i];
		bool is_name = spec->name && strcmp(f->name, spec->name) == 0;
		if (spec->omit && strcmp(f->name, spec->omit) == 0)
			continue;
		if (!present(m, f) && !is_name)
			continue;
		for (int k = 0; k < ((is_name && spec->twice) ? 2 : 1); k++) {
			pk_cstr(&pk, f->name);
			if (is_name && spec->fn)
				spec->fn(&pk, spec->arg);
			else
				pack_value(&pk, m, f);
		}
	}
	if (spec->name && !name_is_field) {
		pk_cstr(&pk, spec->name);
		spec->fn(&pk, spec->arg);
	}
	*len = sb.size;
	return msgpack_sbuffer_release(&sb);
}

/* Decodes and expects TR_ERR_PROTO, a reason, and a zeroed *out. */
static void expect_reject(const void *buf, size_t len, const char *why_contains)
{
	proto_msg out;
	char err[256] = "unset";
	memset(&out, 0xab, sizeof(out));
	int rc = proto_decode(buf, len, &out, err, sizeof(err));
	if (rc != TR_ERR_PROTO) {
		if (rc == TR_OK)
			proto_msg_free(&out);
		fail_msg("expected TR_ERR_PROTO (%s), got %d", why_contains ? why_contains : "", rc);
	}
	proto_msg zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&out, &zero, sizeof(out));
	assert_true(err[0] != '\0' && strcmp(err, "unset") != 0);
	if (why_contains && !strstr(err, why_contains))
		fail_msg("reason '%s' does not mention '%s'", err, why_contains);
}

static void expect_raw_reject(const proto_msg *m, const raw_spec *spec, const char *why)
{
	size_t len = 0;
	void *buf = raw_encode(m, spec, &len);
	expect_reject(buf, len, why);
	free(buf);
}

/* Encoding m must fail with TR_ERR_INVALID, and the same message packed without
 * checks must be rejected by the decoder. */
static void expect_invalid_both_ways(const proto_msg *m, const char *why)
{
	void *buf = (void *)1;
	size_t len = 0;
	assert_int_equal(proto_encode(m, &buf, &len), TR_ERR_INVALID);
	raw_spec spec = {0};
	expect_raw_reject(m, &spec, why);
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

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

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
	BAD(PROTO_QUERY, m.u.query.op = PROTO_OP_SETTINGS_PUT + 1, "op");
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

/* ---- wrong types, NUL bytes, versions, types, shapes ---- */

static void pk_int5(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, 5); }
static void pk_int2(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, 2); }
static void pk_neg1(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, -1); }
static void pk_strv(msgpack_packer *pk, const void *a) { (void)a; pk_cstr(pk, "5"); }
static void pk_nil(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_nil(pk); }
static void pk_true(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_true(pk); }
static void pk_flt(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_double(pk, 5.0); }
static void pk_arr(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_array(pk, 0); }
static void pk_map(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_map(pk, 0); }
static void pk_bin(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_bin(pk, 1);
	msgpack_pack_bin_body(pk, "x", 1);
}
static void pk_map_intval(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 1);
	pk_cstr(pk, "k");
	msgpack_pack_int(pk, 1);
}
static void pk_map_intkey(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 1);
	msgpack_pack_int(pk, 1);
	pk_cstr(pk, "v");
}
static void pk_arr_int(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, 1);
}

static void test_wrong_types(void **state)
{
	(void)state;
	static const pack_fn for_str[] = {pk_int5, pk_nil, pk_bin, pk_arr, pk_map, pk_true, NULL};
	static const pack_fn for_int[] = {pk_strv, pk_flt, pk_nil, pk_true, pk_arr, NULL};
	static const pack_fn for_bool[] = {pk_int5, pk_strv, pk_nil, NULL};
	static const pack_fn for_dbl[] = {pk_strv, pk_nil, pk_true, pk_int2, pk_neg1, NULL};
	static const pack_fn for_kv[] = {pk_arr, pk_strv, pk_map_intval, pk_map_intkey, NULL};
	static const pack_fn for_strv[] = {pk_map, pk_strv, pk_arr_int, NULL};
	int cases = 0;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		const proto_schema *sc = proto_schema_of(t);
		for (size_t i = 0; i < sc->nfields; i++) {
			const proto_field *f = &sc->fields[i];
			const pack_fn *fns = f->kind == PF_STR    ? for_str
					     : f->kind == PF_BOOL ? for_bool
					     : f->kind == PF_DBL  ? for_dbl
					     : f->kind == PF_KV   ? for_kv
					     : f->kind == PF_STRV ? for_strv
								  : for_int;
			for (; *fns; fns++, cases++) {
				proto_msg m = full_msg(t);
				raw_spec spec = {.name = f->name, .fn = *fns};
				expect_raw_reject(&m, &spec, f->name);
			}
		}
	}
	assert_true(cases > 200);
}

typedef struct {
	const char *s;
	size_t n;
} bytes;

static void pk_bytes(msgpack_packer *pk, const void *a)
{
	const bytes *b = a;
	pk_str(pk, b->s, b->n);
}
static void pk_kv_bytes_key(msgpack_packer *pk, const void *a)
{
	msgpack_pack_map(pk, 1);
	pk_bytes(pk, a);
	pk_cstr(pk, "v");
}
static void pk_kv_bytes_val(msgpack_packer *pk, const void *a)
{
	msgpack_pack_map(pk, 1);
	pk_cstr(pk, "k");
	pk_bytes(pk, a);
}
static void pk_arr_bytes(msgpack_packer *pk, const void *a)
{
	msgpack_pack_array(pk, 1);
	pk_bytes(pk, a);
}

static void test_nul_in_strings(void **state)
{
	(void)state;
	static const bytes nuls[] = {{"a\0b", 3}, {"\0", 1}, {"ab\0", 3}};
	for (size_t i = 0; i < 3; i++) {
		proto_msg m = full_msg(PROTO_SUBMIT);
		raw_spec spec = {.name = "title", .fn = pk_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		spec.name = "request_id";
		expect_raw_reject(&m, &spec, "NUL");
		spec = (raw_spec){.name = "labels", .fn = pk_kv_bytes_key, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		spec.fn = pk_kv_bytes_val;
		expect_raw_reject(&m, &spec, "NUL");
		m = full_msg(PROTO_RESULT);
		spec = (raw_spec){.name = "actions", .fn = pk_arr_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		m = full_msg(PROTO_REPLY);
		spec = (raw_spec){.name = "json", .fn = pk_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
	}
}

static void pk_nested(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 2);
	pk_cstr(pk, "x");
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_double(pk, 1.5);
	msgpack_pack_int(pk, 3);
	msgpack_pack_ext(pk, 2, 7);
	msgpack_pack_ext_body(pk, "ab", 2);
}

static void test_versions_types_shapes(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_EVENT), back;
	raw_spec spec = {.version = 2};
	expect_raw_reject(&m, &spec, "version");
	spec.version = 255;
	expect_raw_reject(&m, &spec, "version");
	spec = (raw_spec){.type = 8};
	expect_raw_reject(&m, &spec, "type");
	spec.type = 1000;
	expect_raw_reject(&m, &spec, "type");
	spec.type = -1;
	expect_raw_reject(&m, &spec, "type");
	/* the body of one type under another type's number */
	spec.type = PROTO_SUBMIT;
	expect_raw_reject(&m, &spec, "submit");

	/* hand-written shapes */
	static const struct {
		const char *bytes;
		size_t n;
		const char *why;
	} raw[] = {
		{"\x93\x00\x07\x80", 4, "version"},      /* version 0 */
		{"\x93\xa1" "1\x07\x80", 5, "version"},  /* version as a string */
		{"\x93\x01\x00\x80", 4, "type"},         /* type 0 */
		{"\x93\x01\xff\x80", 4, "type"},         /* type -1 */
		{"\x93\x01\xa1" "7\x80", 5, "type"},     /* type as a string */
		{"\x93\x01\x07\x90", 4, "map"},          /* body an array */
		{"\x93\x01\x07\xc0", 4, "map"},          /* body nil */
		{"\x92\x01\x07", 3, "array"},            /* two elements */
		{"\x94\x01\x07\x80\x80", 5, "array"},    /* four elements */
		{"\x81\xa1" "v\x01", 4, "array"},        /* a map at the top */
		{"\x93\x01\x07\x81\x01\x02", 6, "key"},  /* an integer body key */
		{"", 0, "truncated"},                   /* nothing */
		{"\xc1", 1, "tag"},                      /* the never-used tag */
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		expect_reject(raw[i].bytes, raw[i].n, raw[i].why);

	/* duplicate body keys */
	m = full_msg(PROTO_SUBMIT);
	spec = (raw_spec){.name = "title", .twice = true};
	expect_raw_reject(&m, &spec, "duplicate");

	/* unknown keys are ignored, whatever they hold */
	m = full_msg(PROTO_HEARTBEAT);
	spec = (raw_spec){.name = "future_field", .fn = pk_nested};
	size_t len;
	void *buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(buf);

	/* trailing bytes after a valid message */
	assert_int_equal(proto_encode(&m, &buf, &len), TR_OK);
	char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = '\xc0';
	expect_reject(longer, len + 1, "trailing");
	free(longer);
	free(buf);

	/* no input at all */
	expect_reject(NULL, 0, NULL);
	assert_int_equal(proto_decode(NULL, 0, &back, NULL, 0), TR_ERR_PROTO);
}

static void pk_fixu64(msgpack_packer *pk, const void *a)
{
	msgpack_pack_fix_uint64(pk, *(const uint64_t *)a);
}
static void pk_fixi8(msgpack_packer *pk, const void *a)
{
	msgpack_pack_fix_int8(pk, *(const int8_t *)a);
}
static void pk_f32(msgpack_packer *pk, const void *a)
{
	msgpack_pack_float(pk, *(const float *)a);
}
static void pk_i64(msgpack_packer *pk, const void *a)
{
	msgpack_pack_int64(pk, *(const int64_t *)a);
}

/* Every msgpack integer width is accepted, range is what counts. */
static void test_integer_encodings(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_RESULT), back;
	size_t len;
	void *buf;
	uint64_t u = 7;
	raw_spec spec = {.name = "attempt", .fn = pk_fixu64, .arg = &u};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_int_equal(back.u.result.attempt, 7);
	proto_msg_free(&back);
	free(buf);

	u = (uint64_t)INT32_MAX + 1; /* does not fit int32 */
	expect_raw_reject(&m, &spec, "attempt");
	u = (uint64_t)INT64_MAX + 1; /* does not fit int64 */
	spec.name = "incident_id";
	expect_raw_reject(&m, &spec, "incident_id");
	int64_t big_neg = INT64_MIN;
	spec = (raw_spec){.name = "latency_ms", .fn = pk_i64, .arg = &big_neg};
	expect_raw_reject(&m, &spec, "latency_ms");

	int8_t minus1 = -1;
	spec = (raw_spec){.name = "prompt_tokens", .fn = pk_fixi8, .arg = &minus1};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_int_equal(back.u.result.prompt_tokens, -1);
	proto_msg_free(&back);
	free(buf);

	float half = 0.5f;
	spec = (raw_spec){.name = "confidence", .fn = pk_f32, .arg = &half};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_true(back.u.result.confidence == 0.5);
	proto_msg_free(&back);
	free(buf);
	float over = 1.25f;
	spec.arg = &over;
	expect_raw_reject(&m, &spec, "confidence");

	for (uint64_t v = 0; v <= 1; v++) {
		spec = (raw_spec){.name = "confidence", .fn = pk_fixu64, .arg = &v};
		buf = raw_encode(&m, &spec, &len);
		assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
		assert_true(back.u.result.confidence == (double)v);
		proto_msg_free(&back);
		free(buf);
	}
}

/* ---- truncation, garbage, hostile headers, size ---- */

static void test_truncated_prefixes(void **state)
{
	(void)state;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		proto_msg m = full_msg(t);
		void *buf;
		size_t len;
		assert_int_equal(proto_encode(&m, &buf, &len), TR_OK);
		for (size_t n = 0; n < len; n++) {
			/* a copy of exactly n bytes, so ASan sees any read past the end */
			void *prefix = malloc(n ? n : 1);
			memcpy(prefix, buf, n);
			expect_reject(prefix, n, NULL);
			free(prefix);
		}
		free(buf);
	}
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void decode_any(const void *buf, size_t len, int *ok, int *bad)
{
	proto_msg out;
	char err[128];
	int rc = proto_decode(buf, len, &out, err, sizeof(err));
	if (rc == TR_OK) {
		(*ok)++;
		proto_msg_free(&out);
	} else {
		assert_int_equal(rc, TR_ERR_PROTO);
		(*bad)++;
	}
}

static void test_random_garbage(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int ok = 0, bad = 0;
	uint8_t buf[128];
	/* pure noise, biased towards msgpack's interesting tags */
	for (int i = 0; i < 20000; i++) {
		size_t len = rng_next(&seed) % sizeof(buf);
		for (size_t j = 0; j < len; j++) {
			uint64_t r = rng_next(&seed);
			buf[j] = (r & 3) == 0 ? (uint8_t)(0x90 + (r >> 8) % 0x70) : (uint8_t)(r >> 16);
		}
		if (len >= 3 && (i & 1)) { /* a plausible header half of the time */
			buf[0] = 0x93;
			buf[1] = 0x01;
			buf[2] = (uint8_t)(1 + rng_next(&seed) % 7);
		}
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		decode_any(copy, len, &ok, &bad);
		free(copy);
	}
	/* valid messages with a few bytes changed, some cut short */
	for (int i = 0; i < 30000; i++) {
		proto_msg m = full_msg((proto_type)(1 + i % 7));
		void *enc;
		size_t len;
		assert_int_equal(proto_encode(&m, &enc, &len), TR_OK);
		uint8_t *p = enc;
		int flips = 1 + (int)(rng_next(&seed) % 4);
		for (int k = 0; k < flips; k++)
			p[rng_next(&seed) % len] = (uint8_t)rng_next(&seed);
		if (rng_next(&seed) % 4 == 0)
			len = rng_next(&seed) % len;
		decode_any(enc, len, &ok, &bad);
		free(enc);
	}
	assert_int_equal(ok + bad, 50000);
	assert_true(bad > 0);
	print_message("garbage: %d decoded, %d rejected\n", ok, bad);
}

#ifdef __SANITIZE_ADDRESS__
/* ASan's allocator hooks see every allocation, msgpack-c's included: a test-only
 * process-wide record of the largest one. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));
static size_t biggest_alloc;
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > biggest_alloc)
		biggest_alloc = n;
}
static void on_free(const volatile void *p)
{
	(void)p;
}
#endif

static void test_hostile_headers(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t n;
	} cases[] = {
		{"\xdd\xff\xff\xff\xff", 5},                        /* array32 of 2^32-1 */
		{"\xdf\xff\xff\xff\xff", 5},                        /* map32 of 2^32-1 */
		{"\xdb\xff\xff\xff\xff", 5},                        /* str32 of 4 GiB */
		{"\xc6\xff\xff\xff\xff", 5},                        /* bin32 */
		{"\xc9\xff\xff\xff\xff\x01", 6},                    /* ext32 */
		{"\xdc\xff\xff", 3},                                /* array16 of 65535 */
		{"\x93\x01\x01\xdf\xff\xff\xff\xff", 8},            /* body map32 */
		{"\x93\x01\x01\x81\xa6labels\xdf\xff\xff\xff\xff", 15}, /* labels map32 */
		{"\x93\x01\x05\x81\xa7" "actions\xdd\xff\xff\xff\xff", 16}, /* actions array32 */
		{"\x93\x01\x01\x81\xa5title\xdb\xff\xff\xff\xff", 14},   /* title str32 */
	};
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	void *volatile probe = malloc(4 << 20); /* the hook really sees allocations */
	free(probe);
	assert_true(biggest_alloc >= (4u << 20));
	biggest_alloc = 0;
#endif
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int rep = 0; rep < 100; rep++)
			expect_reject(cases[i].bytes, cases[i].n, NULL);
	}
	/* deep nesting, and many small real objects */
	uint8_t deep[200];
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	expect_reject(deep, sizeof(deep), "nested");
	size_t n = 60000;
	uint8_t *many = malloc(n + 3);
	many[0] = 0xdc;
	many[1] = (uint8_t)(n >> 8);
	many[2] = (uint8_t)n;
	memset(many + 3, 0xc0, n);
	expect_reject(many, n + 3, "too many");
	free(many);
#ifdef __SANITIZE_ADDRESS__
	print_message("largest allocation while decoding hostile input: %zu bytes\n", biggest_alloc);
	assert_true(biggest_alloc < (1u << 20));
#endif
}

static void pk_pad(msgpack_packer *pk, const void *a)
{
	size_t n = *(const size_t *)a;
	char *s = repeat('x', n);
	pk_str(pk, s, n);
	free(s);
}

static void test_size_limit(void **state)
{
	(void)state;
	/* a reply padded (with an unknown key) to exactly PROTO_MAX_MSG decodes... */
	proto_msg m = full_msg(PROTO_REPLY), back;
	char *json = repeat('j', PROTO_JSON_MAX / 2);
	m.u.reply.json = json;
	size_t pad = 70000, len; /* str32 header either way */
	raw_spec spec = {.name = "padding", .fn = pk_pad, .arg = &pad};
	void *buf = raw_encode(&m, &spec, &len);
	free(buf);
	pad += PROTO_MAX_MSG - len;
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(len, PROTO_MAX_MSG);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(buf);
	/* ...and one byte more does not */
	pad++;
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(len, PROTO_MAX_MSG + 1);
	expect_reject(buf, len, "over");
	free(buf);
	free(json);
}

/* A message that fails late (its last label) leaves nothing allocated (ASan checks). */
static void test_late_failure_frees(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_SUBMIT);
	proto_kv kv[3] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
	m.u.submit.labels = kv;
	m.u.submit.nlabels = 3;
	expect_invalid_both_ways(&m, "duplicate");
	m = full_msg(PROTO_RESULT);
	char *acts[3] = {"one", "two", NULL};
	char *longact = repeat('a', PROTO_ACTION_MAX + 1);
	acts[2] = longact;
	m.u.result.actions = acts;
	m.u.result.nactions = 3;
	expect_invalid_both_ways(&m, "actions");
	free(longact);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(PROTO_SUBMIT), "submit");
	assert_string_equal(proto_type_name(PROTO_EVENT), "event");
	assert_string_equal(proto_type_name(0), "unknown");
	assert_string_equal(proto_type_name(99), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_RETRIAGE), "retriage");
	assert_string_equal(proto_op_name(PROTO_OP_SETTINGS_PUT), "settings_put");
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

int main(void)
{
	tr_log_init("test_proto", TR_LOG_ERROR); /* refusals log warnings */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_required_only),
		cmocka_unit_test(test_raw_encoder_agrees),
		cmocka_unit_test(test_labels_bound),
		cmocka_unit_test(test_params_bound),
		cmocka_unit_test(test_actions_bound),
		cmocka_unit_test(test_string_bounds),
		cmocka_unit_test(test_integer_ranges),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_nul_in_strings),
		cmocka_unit_test(test_versions_types_shapes),
		cmocka_unit_test(test_integer_encodings),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_late_failure_frees),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
