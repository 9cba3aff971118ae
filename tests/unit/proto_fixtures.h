/* proto_fixtures: shared by the proto codec tests: one message of each type, an
 * equality check driven by the schema tables, and a raw packer for invalid input. */
#ifndef PROTO_FIXTURES_H
#define PROTO_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_schema.h"
#include "tr_err.h"

/* Field-by-field equality using the schema tables (strings by content). */
static inline bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static inline void assert_fields_equal(const void *a, const void *b, const proto_field *fields,
				       size_t nfields)
{
	for (size_t i = 0; i < nfields; i++) {
		const proto_field *f = &fields[i];
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
		case PF_I64V: {
			size_t n = *PROTO_COUNT_CPTR(a, f);
			assert_int_equal(n, *PROTO_COUNT_CPTR(b, f));
			const int64_t *ia = *PROTO_FIELD_CPTR(a, f, int64_t *);
			const int64_t *ib = *PROTO_FIELD_CPTR(b, f, int64_t *);
			for (size_t j = 0; j < n; j++)
				assert_int_equal(ia[j], ib[j]);
			break;
		}
		case PF_RECS: {
			size_t n = *PROTO_COUNT_CPTR(a, f);
			assert_int_equal(n, *PROTO_COUNT_CPTR(b, f));
			const char *ra = *PROTO_FIELD_CPTR(a, f, char *);
			const char *rb = *PROTO_FIELD_CPTR(b, f, char *);
			for (size_t j = 0; j < n; j++)
				assert_fields_equal(ra + j * f->elem_size, rb + j * f->elem_size,
						    f->sub, f->nsub);
			break;
		}
		}
	}
}

static inline void assert_msg_equal(const proto_msg *a, const proto_msg *b)
{
	assert_int_equal(a->type, b->type);
	const proto_schema *sc = proto_schema_of(a->type);
	assert_non_null(sc);
	assert_fields_equal(a, b, sc->fields, sc->nfields);
}

static proto_kv two_labels[] = {{"env", "prod"}, {"team", "payments"}};
static proto_kv two_params[] = {{"status", "triaged"}, {"limit", "50"}};
static char *three_actions[] = {"Check the pool", "Roll back release 42", "Page the DBA"};
static proto_similar two_similar[] = {
	{123, 0.92, "Disk full on db-3", "high", "storage", true, "Rotated the logs; grew /var", false},
	{45, 0.5, "Disk slow", "", "", false, "", true},
};
static int64_t two_used[] = {123, 45};
static char *two_confirms[] = {"req-0a", "req-0b"};
static char *two_held[] = {"9:3", "12:1"};
/* a batch's submits carry no confirms of their own (the batch carries them) */
static proto_submit two_submits[] = {
	{"req-5a", "gw:key-7", "DB down", "Connections refused", "alertmanager", "payments-db",
	 "db-down-1", two_labels, 2, 1764075603000LL, "rk-5a", NULL, 0},
	{"req-5b", NULL, "Disk full", "", NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0},
};
static proto_reply two_replies[] = {
	{"req-5a", TR_OK, true, 77, "{\"id\":77}", 0},
	{"req-5b", TR_ERR_INVALID, false, 0, "{\"error\":\"invalid\"}", 0},
};

/* One message of each type with every field set. */
static inline proto_msg full_msg(proto_type t)
{
	proto_msg m = {.type = t};
	switch (t) {
	case PROTO_SUBMIT:
		m.u.submit = (proto_submit){"req-1", "gw:key-9", "DB down", "Connections refused\nsince 10:00",
					    "alertmanager", "payments-db", "db-down-1", two_labels, 2,
					    1764075603000LL, "rk-abc", two_confirms, 2};
		break;
	case PROTO_QUERY:
		m.u.query = (proto_query){"req-2", PROTO_OP_LIST, 42, two_params, 2, 1764075604000LL};
		break;
	case PROTO_REPLY:
		m.u.reply = (proto_reply){"req-3", TR_ERR_NOT_FOUND, true, 77,
					  "{\"error\":\"not_found\"}", PROTO_BATCH_MAX};
		break;
	case PROTO_SUBMIT_BATCH:
		m.u.submit_batch = (proto_submit_batch){"batch-1", two_submits, 2, two_confirms, 2};
		break;
	case PROTO_BATCH_REPLY:
		m.u.batch_reply = (proto_batch_reply){"batch-1", two_replies, 2};
		break;
	case PROTO_JOB:
		m.u.job = (proto_job){9, 3, 1764075600123LL, "phi3:mini", "Disk full", "/var is at 100%",
				      "nagios", "web", two_labels, 2, 987654321, 1764075605000LL, 12,
				      two_similar, 2};
		break;
	case PROTO_RESULT:
		m.u.result = (proto_result){9, 3, "enr-a", PROTO_OUTCOME_TRIAGED, "none", "ok",
					    "The disk is full.", "high", "storage", three_actions, 3,
					    0.85, "ollama", "phi3:mini", "v1", 1234, 321, 45, 987654321,
					    two_used, 2};
		break;
	case PROTO_HEARTBEAT:
		m.u.heartbeat = (proto_heartbeat){"enr-a", "rules", 4, 2, 555, 17, two_held, 2};
		break;
	case PROTO_EVENT:
		m.u.event = (proto_event){1764075600000LL, 17, 9, 5, "triaged", "triaged", "open",
					  "high", "storage", 1764075600999LL};
		break;
	case PROTO_EVENTS_SYNC:
		m.u.events_sync = (proto_events_sync){1764075600000LL, 17};
		break;
	case PROTO_ALERTS:
		m.u.alerts = (proto_alerts){"req-4", "alertmanager", "am:0f3a", 600000,
					    "{\"a\":\"trigger\",\"fp\":\"f1\"}"};
		break;
	}
	return m;
}

/* One message of each type with only the required fields set. */
static inline proto_msg min_msg(proto_type t)
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
	case PROTO_ALERTS:
		m.u.alerts.request_id = "r";
		m.u.alerts.source = "grafana";
		m.u.alerts.events = "[]";
		break;
	case PROTO_EVENT:
		m.u.event.kind = "created";
		m.u.event.status = "submitted";
		break;
	case PROTO_EVENTS_SYNC:
		break;
	case PROTO_SUBMIT_BATCH:
		m.u.submit_batch.request_id = "b";
		m.u.submit_batch.submits = &two_submits[1];
		m.u.submit_batch.nsubmits = 1;
		break;
	case PROTO_BATCH_REPLY:
		m.u.batch_reply.request_id = "b";
		m.u.batch_reply.replies = &two_replies[1];
		m.u.batch_reply.nreplies = 1;
		break;
	}
	return m;
}

/* Encodes m, decodes it back, and checks the copy equals the original. */
static inline void round_trip(const proto_msg *m, proto_msg *back)
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

static inline void pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static inline void pk_cstr(msgpack_packer *pk, const char *s)
{
	pk_str(pk, s, strlen(s));
}

static inline bool present(const void *m, const proto_field *f);

static inline void pack_value(msgpack_packer *pk, const void *m, const proto_field *f)
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
	case PF_I64V: {
		size_t n = *PROTO_COUNT_CPTR(m, f);
		const int64_t *iv = *PROTO_FIELD_CPTR(m, f, int64_t *);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			msgpack_pack_int64(pk, iv[i]);
		break;
	}
	case PF_RECS: {
		size_t n = *PROTO_COUNT_CPTR(m, f);
		const char *rv = *PROTO_FIELD_CPTR(m, f, char *);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++) {
			const char *rec = rv + i * f->elem_size;
			size_t np = 0;
			for (size_t k = 0; k < f->nsub; k++)
				np += present(rec, &f->sub[k]);
			msgpack_pack_map(pk, np);
			for (size_t k = 0; k < f->nsub; k++) {
				if (!present(rec, &f->sub[k]))
					continue;
				pk_cstr(pk, f->sub[k].name);
				pack_value(pk, rec, &f->sub[k]);
			}
		}
		break;
	}
	}
}

static inline bool present(const void *m, const proto_field *f)
{
	if (f->kind == PF_STR)
		return *PROTO_FIELD_CPTR(m, f, char *) != NULL;
	if (f->kind == PF_KV || f->kind == PF_STRV || f->kind == PF_RECS || f->kind == PF_I64V)
		return *PROTO_COUNT_CPTR(m, f) > 0;
	return true;
}

/* Packs m without any validation, changed as spec says. Caller frees the buffer. */
static inline void *raw_encode(const proto_msg *m, const raw_spec *spec, size_t *len)
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
static inline void expect_reject(const void *buf, size_t len, const char *why_contains)
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

static inline void expect_raw_reject(const proto_msg *m, const raw_spec *spec, const char *why)
{
	size_t len = 0;
	void *buf = raw_encode(m, spec, &len);
	expect_reject(buf, len, why);
	free(buf);
}

/* Encoding m must fail with TR_ERR_INVALID, and the same message packed without
 * checks must be rejected by the decoder. */
static inline void expect_invalid_both_ways(const proto_msg *m, const char *why)
{
	void *buf = (void *)1;
	size_t len = 0;
	assert_int_equal(proto_encode(m, &buf, &len), TR_ERR_INVALID);
	raw_spec spec = {0};
	expect_raw_reject(m, &spec, why);
}

static inline char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#endif
