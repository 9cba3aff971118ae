/* proto: the message tables (one row per body field, with its bounds), the validator
 * the encoder runs before packing, and the names, lookup and free helpers. */
#include "proto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_schema.h"
#include "tr_err.h"

#define OFF(t, f) offsetof(proto_msg, u.t.f)

#define F_STR(t, f, req, mn, mx) \
	{.name = #f, .kind = PF_STR, .required = (req), .off = OFF(t, f), .min = (mn), .max = (mx)}
#define F_STR_EMPTY(t, f, mx) \
	{.name = #f, .kind = PF_STR, .off = OFF(t, f), .min = 0, .max = (mx), .def = 1}
#define F_I64(t, f, req, mn, mx, d)                                                     \
	{.name = #f, .kind = PF_I64, .required = (req), .off = OFF(t, f), .min = (mn), \
	 .max = (mx), .def = (d)}
#define F_I32(t, f, req, mn, mx) \
	{.name = #f, .kind = PF_I32, .required = (req), .off = OFF(t, f), .min = (mn), .max = (mx)}
#define F_INT(t, f, req, mn, mx) \
	{.name = #f, .kind = PF_INT, .required = (req), .off = OFF(t, f), .min = (mn), .max = (mx)}
#define F_BOOL(t, f) {.name = #f, .kind = PF_BOOL, .off = OFF(t, f)}
#define F_DBL(t, f, mn, mx) {.name = #f, .kind = PF_DBL, .off = OFF(t, f), .min = (mn), .max = (mx)}
#define F_KV(t, f, n, mx, kmax, vmax)                                                         \
	{.name = #f, .kind = PF_KV, .off = OFF(t, f), .count_off = OFF(t, n), .max = (mx),   \
	 .key_max = (kmax), .val_max = (vmax)}
#define F_STRV(t, f, n, mx, vmax)                                                            \
	{.name = #f, .kind = PF_STRV, .off = OFF(t, f), .count_off = OFF(t, n), .max = (mx), \
	 .val_max = (vmax)}

#define F_I64V(t, f, n, mx) \
	{.name = #f, .kind = PF_I64V, .off = OFF(t, f), .count_off = OFF(t, n), .max = (mx)}
#define F_RECS(t, f, n, mx, rec, rf)                                                         \
	{.name = #f, .kind = PF_RECS, .off = OFF(t, f), .count_off = OFF(t, n), .max = (mx), \
	 .sub = (rf), .nsub = sizeof(rf) / sizeof((rf)[0]), .elem_size = sizeof(rec)}

/* Fields of a record: offsets within the record itself. */
#define ROFF(r, f) offsetof(r, f)

#define ID_MAX INT64_MAX
#define SHORT PROTO_SHORT_MAX

static const proto_field submit_fields[] = {
	F_STR(submit, request_id, true, 1, SHORT),
	F_STR(submit, idempotency_key, false, 0, SHORT),
	F_STR(submit, title, true, 0, PROTO_TITLE_MAX),
	F_STR(submit, description, true, 0, PROTO_DESC_MAX),
	F_STR(submit, source, false, 0, SHORT),
	F_STR(submit, service, false, 0, SHORT),
	F_STR(submit, dedup_key, false, 0, SHORT),
	F_KV(submit, labels, nlabels, PROTO_LABELS_MAX, PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX),
	F_I64(submit, deadline_ms, false, 0, INT64_MAX, 0),
	F_STR(submit, retry_key, false, 1, SHORT),
	F_STRV(submit, confirms, nconfirms, PROTO_CONFIRMS_MAX, SHORT),
};

/* A submit inside a SUBMIT_BATCH: the submit's fields but its confirms (the batch
 * carries them once). Offsets within proto_submit. */
#define R_STR(f, req, mn, mx)                                                                \
	{.name = #f, .kind = PF_STR, .required = (req), .off = ROFF(proto_submit, f),        \
	 .min = (mn), .max = (mx)}
static const proto_field batch_submit_fields[] = {
	R_STR(request_id, true, 1, SHORT),
	R_STR(idempotency_key, false, 0, SHORT),
	R_STR(title, true, 0, PROTO_TITLE_MAX),
	R_STR(description, true, 0, PROTO_DESC_MAX),
	R_STR(source, false, 0, SHORT),
	R_STR(service, false, 0, SHORT),
	R_STR(dedup_key, false, 0, SHORT),
	{.name = "labels", .kind = PF_KV, .off = ROFF(proto_submit, labels),
	 .count_off = ROFF(proto_submit, nlabels), .max = PROTO_LABELS_MAX,
	 .key_max = PROTO_LABEL_KEY_MAX, .val_max = PROTO_LABEL_VALUE_MAX},
	{.name = "deadline_ms", .kind = PF_I64, .off = ROFF(proto_submit, deadline_ms), .min = 0,
	 .max = INT64_MAX},
	R_STR(retry_key, false, 1, SHORT),
};

/* The decoder's object cap holds a full batch: each submit is a map of its fields
 * (key and value each) with up to PROTO_LABELS_MAX labels, plus the confirms. */
_Static_assert(PROTO_BATCH_MAX * (1 + 2 * (sizeof batch_submit_fields /
					    sizeof batch_submit_fields[0]) +
				  2 * PROTO_LABELS_MAX) +
			       PROTO_CONFIRMS_MAX + 16 <=
		       PROTO_MAX_OBJECTS,
	       "a full SUBMIT_BATCH must stay under the decoder's object cap");

static const proto_field query_fields[] = {
	F_STR(query, request_id, true, 1, SHORT),
	F_INT(query, op, true, PROTO_OP_READY, PROTO_OP_MAX),
	F_I64(query, incident_id, false, 0, ID_MAX, 0),
	F_KV(query, params, nparams, PROTO_PARAMS_MAX, SHORT, PROTO_PARAM_VALUE_MAX),
	F_I64(query, deadline_ms, false, 0, INT64_MAX, 0),
};

static const proto_field reply_fields[] = {
	F_STR(reply, request_id, true, 1, SHORT),
	F_INT(reply, code, true, TR_OK, TR_ERR__COUNT - 1),
	F_BOOL(reply, created),
	F_I64(reply, incident_id, false, 0, ID_MAX, 0),
	F_STR(reply, json, false, 0, PROTO_JSON_MAX),
	F_INT(reply, batch_max, false, 0, PROTO_BATCH_MAX),
};

/* One answer of a BATCH_REPLY: a reply's fields, offsets within proto_reply. */
static const proto_field batch_reply_item_fields[] = {
	{.name = "request_id", .kind = PF_STR, .required = true,
	 .off = ROFF(proto_reply, request_id), .min = 1, .max = SHORT},
	{.name = "code", .kind = PF_INT, .required = true, .off = ROFF(proto_reply, code),
	 .min = TR_OK, .max = TR_ERR__COUNT - 1},
	{.name = "created", .kind = PF_BOOL, .off = ROFF(proto_reply, created)},
	{.name = "incident_id", .kind = PF_I64, .off = ROFF(proto_reply, incident_id), .min = 0,
	 .max = ID_MAX},
	{.name = "json", .kind = PF_STR, .off = ROFF(proto_reply, json), .min = 0,
	 .max = PROTO_JSON_MAX},
};

static const proto_field submit_batch_fields[] = {
	F_STR(submit_batch, request_id, true, 1, SHORT),
	F_RECS(submit_batch, submits, nsubmits, PROTO_BATCH_MAX, proto_submit,
	       batch_submit_fields),
	F_STRV(submit_batch, confirms, nconfirms, PROTO_CONFIRMS_MAX, SHORT),
};

static const proto_field batch_reply_fields[] = {
	F_STR(batch_reply, request_id, true, 1, SHORT),
	F_RECS(batch_reply, replies, nreplies, PROTO_BATCH_MAX, proto_reply,
	       batch_reply_item_fields),
};

static const proto_field similar_fields[] = {
	{.name = "incident_id", .kind = PF_I64, .required = true,
	 .off = ROFF(proto_similar, incident_id), .min = 1, .max = ID_MAX},
	{.name = "score", .kind = PF_DBL, .off = ROFF(proto_similar, score), .min = 0, .max = 1},
	{.name = "title", .kind = PF_STR, .required = true, .off = ROFF(proto_similar, title),
	 .min = 0, .max = PROTO_TITLE_MAX},
	{.name = "severity", .kind = PF_STR, .off = ROFF(proto_similar, severity), .min = 0,
	 .max = SHORT, .def = 1},
	{.name = "category", .kind = PF_STR, .off = ROFF(proto_similar, category), .min = 0,
	 .max = SHORT, .def = 1},
	{.name = "human_labelled", .kind = PF_BOOL, .off = ROFF(proto_similar, human_labelled)},
	{.name = "resolution_note", .kind = PF_STR, .off = ROFF(proto_similar, resolution_note),
	 .min = 0, .max = PROTO_SIMILAR_NOTE_MAX, .def = 1},
	{.name = "unresolved", .kind = PF_BOOL, .off = ROFF(proto_similar, unresolved)},
};

static const proto_field job_fields[] = {
	F_I64(job, incident_id, true, 0, ID_MAX, 0),
	F_I32(job, attempt, true, 0, INT32_MAX),
	F_I64(job, lease_deadline_ms, true, 0, INT64_MAX, 0),
	F_STR_EMPTY(job, model, SHORT),
	F_I64(job, learned_version, false, 0, INT64_MAX, 0),
	F_STR(job, title, true, 0, PROTO_TITLE_MAX),
	F_STR(job, description, true, 0, PROTO_DESC_MAX),
	F_STR(job, source, false, 0, SHORT),
	F_STR(job, service, false, 0, SHORT),
	F_KV(job, labels, nlabels, PROTO_LABELS_MAX, PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX),
	F_I64(job, lease_token, false, 0, INT64_MAX, 0),
	F_I64(job, pickup_deadline_ms, false, 0, INT64_MAX, 0),
	F_RECS(job, similar, nsimilar, PROTO_SIMILAR_MAX, proto_similar, similar_fields),
};

static const proto_field result_fields[] = {
	F_I64(result, incident_id, true, 0, ID_MAX, 0),
	F_I32(result, attempt, true, 0, INT32_MAX),
	F_STR(result, enricher_id, true, 1, SHORT),
	F_INT(result, outcome, true, PROTO_OUTCOME_TRIAGED, PROTO_OUTCOME_RELEASED),
	F_STR(result, reason, false, 0, SHORT),
	F_STR(result, detail, false, 0, PROTO_DETAIL_MAX),
	F_STR(result, summary, false, 0, PROTO_SUMMARY_MAX),
	F_STR(result, severity, false, 0, SHORT),
	F_STR(result, category, false, 0, SHORT),
	F_STRV(result, actions, nactions, PROTO_ACTIONS_MAX, PROTO_ACTION_MAX),
	F_DBL(result, confidence, 0, 1),
	F_STR(result, backend, false, 0, SHORT),
	F_STR(result, model, false, 0, SHORT),
	F_STR(result, prompt_version, false, 0, SHORT),
	F_I64(result, latency_ms, false, 0, INT64_MAX, 0),
	F_I64(result, prompt_tokens, false, -1, INT64_MAX, -1),
	F_I64(result, completion_tokens, false, -1, INT64_MAX, -1),
	F_I64(result, lease_token, false, 0, INT64_MAX, 0),
	F_I64V(result, similar_used, nsimilar_used, PROTO_SIMILAR_MAX),
};

static const proto_field heartbeat_fields[] = {
	F_STR(heartbeat, enricher_id, true, 1, SHORT),
	F_STR(heartbeat, backend, false, 0, SHORT),
	F_I32(heartbeat, slots, true, 0, INT32_MAX),
	F_I32(heartbeat, busy, true, 0, INT32_MAX),
	F_I64(heartbeat, epoch, false, 0, INT64_MAX, 0),
	F_I64(heartbeat, received, false, 0, INT64_MAX, 0),
	F_STRV(heartbeat, held, nheld, PROTO_HELD_MAX, PROTO_HELD_ITEM_MAX),
};

static const proto_field event_fields[] = {
	F_I64(event, epoch, true, 0, INT64_MAX, 0),
	F_I64(event, seq, true, 0, INT64_MAX, 0),
	F_I64(event, incident_id, true, 0, ID_MAX, 0),
	F_I64(event, version, true, 0, INT64_MAX, 0),
	F_STR(event, kind, true, 1, SHORT),
	F_STR(event, status, true, 1, SHORT),
	F_STR(event, state, false, 0, SHORT),
	F_STR(event, severity, false, 0, SHORT),
	F_STR(event, category, false, 0, SHORT),
	F_I64(event, at_ms, false, 0, INT64_MAX, 0),
};

static const proto_field events_sync_fields[] = {
	F_I64(events_sync, epoch, true, 0, INT64_MAX, 0),
	F_I64(events_sync, seq, true, 0, INT64_MAX, 0),
};

static const proto_field alerts_fields[] = {
	F_STR(alerts, request_id, true, 1, SHORT),
	F_STR(alerts, source, true, 1, SHORT),
	F_STR(alerts, delivery_key, false, 1, SHORT),
	F_I64(alerts, delivery_ttl_ms, false, 0, INT64_MAX, 0),
	F_STR(alerts, events, true, 2, PROTO_ALERTS_MAX),
};

/* A triage result must carry the triage; the enum values themselves are checked by
 * the store and the enricher, not here. */
static int result_check(const proto_msg *m, char *err, size_t errlen)
{
	const proto_result *r = &m->u.result;
	if (r->outcome != PROTO_OUTCOME_TRIAGED)
		return TR_OK;
	const char *missing = !r->summary ? "summary"
			      : !r->severity ? "severity"
			      : !r->category ? "category"
			      : !r->backend ? "backend"
					    : NULL;
	if (missing) {
		snprintf(err, errlen, "result: outcome triaged needs '%s'", missing);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

/* A job's similar entries are bounded in bytes as a whole, not only one by one. */
static int job_check(const proto_msg *m, char *err, size_t errlen)
{
	const proto_job *j = &m->u.job;
	size_t total = 0;
	for (size_t i = 0; i < j->nsimilar; i++) {
		total += j->similar[i].title ? strlen(j->similar[i].title) : 0;
		total += j->similar[i].resolution_note ? strlen(j->similar[i].resolution_note) : 0;
	}
	if (total > PROTO_SIMILAR_BYTES) {
		snprintf(err, errlen, "job.similar: %zu bytes of titles and notes (at most %d)",
			 total, PROTO_SIMILAR_BYTES);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

/* A batch has at least one submit, and its reply one answer. */
static int submit_batch_check(const proto_msg *m, char *err, size_t errlen)
{
	if (m->u.submit_batch.nsubmits > 0)
		return TR_OK;
	snprintf(err, errlen, "submit_batch.submits: at least one");
	return TR_ERR_INVALID;
}

static int batch_reply_check(const proto_msg *m, char *err, size_t errlen)
{
	if (m->u.batch_reply.nreplies > 0)
		return TR_OK;
	snprintf(err, errlen, "batch_reply.replies: at least one");
	return TR_ERR_INVALID;
}

#define SCHEMA(n, f, c) {n, f, sizeof(f) / sizeof(f[0]), c}
static const proto_schema schemas[] = {
	[PROTO_SUBMIT] = SCHEMA("submit", submit_fields, NULL),
	[PROTO_QUERY] = SCHEMA("query", query_fields, NULL),
	[PROTO_REPLY] = SCHEMA("reply", reply_fields, NULL),
	[PROTO_JOB] = SCHEMA("job", job_fields, job_check),
	[PROTO_RESULT] = SCHEMA("result", result_fields, result_check),
	[PROTO_HEARTBEAT] = SCHEMA("heartbeat", heartbeat_fields, NULL),
	[PROTO_EVENT] = SCHEMA("event", event_fields, NULL),
	[PROTO_EVENTS_SYNC] = SCHEMA("events_sync", events_sync_fields, NULL),
	[PROTO_ALERTS] = SCHEMA("alerts", alerts_fields, NULL),
	[PROTO_SUBMIT_BATCH] = SCHEMA("submit_batch", submit_batch_fields, submit_batch_check),
	[PROTO_BATCH_REPLY] = SCHEMA("batch_reply", batch_reply_fields, batch_reply_check),
};

const proto_field *proto_batch_submit_fields(size_t *n)
{
	*n = sizeof batch_submit_fields / sizeof batch_submit_fields[0];
	return batch_submit_fields;
}

const proto_schema *proto_schema_of(int type)
{
	if (type < PROTO_SUBMIT || (size_t)type >= sizeof schemas / sizeof schemas[0] ||
	    !schemas[type].name)
		return NULL; /* gaps in the numbering are other helpers' reserved types */
	return &schemas[type];
}

static int check_str(const char *s, const proto_field *f, const char *what, size_t min,
		     size_t max, const char *tname, char *err, size_t errlen)
{
	size_t len = strnlen(s, max + 1);
	if (len > max) {
		snprintf(err, errlen, "%s.%s: %s longer than %zu bytes", tname, f->name, what, max);
		return TR_ERR_INVALID;
	}
	if (len < min) {
		snprintf(err, errlen, "%s.%s: %s shorter than %zu bytes", tname, f->name, what, min);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}


static int validate_field(const void *m, const proto_field *f, const char *tname, char *err,
			  size_t errlen)
{
	int64_t v = 0;
	switch (f->kind) {
	case PF_STR: {
		const char *s = *PROTO_FIELD_CPTR(m, f, char *);
		if (!s) {
			if (!f->required)
				return TR_OK;
			snprintf(err, errlen, "%s.%s: required", tname, f->name);
			return TR_ERR_INVALID;
		}
		return check_str(s, f, "value", (size_t)f->min, (size_t)f->max, tname, err, errlen);
	}
	case PF_I64: v = *PROTO_FIELD_CPTR(m, f, int64_t); break;
	case PF_I32: v = *PROTO_FIELD_CPTR(m, f, int32_t); break;
	case PF_INT: v = *PROTO_FIELD_CPTR(m, f, int); break;
	case PF_BOOL: return TR_OK;
	case PF_DBL: {
		double d = *PROTO_FIELD_CPTR(m, f, double);
		if (isnan(d) || d < (double)f->min || d > (double)f->max) {
			snprintf(err, errlen, "%s.%s: outside %lld..%lld", tname, f->name,
				 (long long)f->min, (long long)f->max);
			return TR_ERR_INVALID;
		}
		return TR_OK;
	}
	case PF_KV: {
		const proto_kv *kv = *PROTO_FIELD_CPTR(m, f, proto_kv *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (n > (size_t)f->max || (n > 0 && !kv)) {
			snprintf(err, errlen, "%s.%s: %zu entries (at most %lld)", tname, f->name, n,
				 (long long)f->max);
			return TR_ERR_INVALID;
		}
		for (size_t i = 0; i < n; i++) {
			if (!kv[i].key || !kv[i].value) {
				snprintf(err, errlen, "%s.%s: entry %zu is NULL", tname, f->name, i);
				return TR_ERR_INVALID;
			}
			int rc = check_str(kv[i].key, f, "key", 1, f->key_max, tname, err, errlen);
			if (rc == TR_OK)
				rc = check_str(kv[i].value, f, "value", 0, f->val_max, tname, err, errlen);
			if (rc != TR_OK)
				return rc;
			for (size_t j = 0; j < i; j++) {
				if (strcmp(kv[j].key, kv[i].key) == 0) {
					snprintf(err, errlen, "%s.%s: duplicate key '%s'", tname, f->name,
						 kv[i].key);
					return TR_ERR_INVALID;
				}
			}
		}
		return TR_OK;
	}
	case PF_STRV: {
		char *const *sv = *PROTO_FIELD_CPTR(m, f, char **);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (n > (size_t)f->max || (n > 0 && !sv)) {
			snprintf(err, errlen, "%s.%s: %zu entries (at most %lld)", tname, f->name, n,
				 (long long)f->max);
			return TR_ERR_INVALID;
		}
		for (size_t i = 0; i < n; i++) {
			if (!sv[i]) {
				snprintf(err, errlen, "%s.%s: entry %zu is NULL", tname, f->name, i);
				return TR_ERR_INVALID;
			}
			int rc = check_str(sv[i], f, "entry", 0, f->val_max, tname, err, errlen);
			if (rc != TR_OK)
				return rc;
		}
		return TR_OK;
	}
	case PF_I64V: {
		const int64_t *iv = *PROTO_FIELD_CPTR(m, f, int64_t *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (n > (size_t)f->max || (n > 0 && !iv)) {
			snprintf(err, errlen, "%s.%s: %zu entries (at most %lld)", tname, f->name, n,
				 (long long)f->max);
			return TR_ERR_INVALID;
		}
		for (size_t i = 0; i < n; i++) {
			if (iv[i] < 1) {
				snprintf(err, errlen, "%s.%s: entry %zu is not a positive id", tname,
					 f->name, i);
				return TR_ERR_INVALID;
			}
		}
		return TR_OK;
	}
	case PF_RECS: {
		const char *rv = *PROTO_FIELD_CPTR(m, f, char *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (n > (size_t)f->max || (n > 0 && !rv)) {
			snprintf(err, errlen, "%s.%s: %zu entries (at most %lld)", tname, f->name, n,
				 (long long)f->max);
			return TR_ERR_INVALID;
		}
		for (size_t i = 0; i < n; i++) {
			int rc = proto_validate_fields(rv + i * f->elem_size, f->sub, f->nsub, tname, err,
						 errlen);
			if (rc != TR_OK)
				return rc;
		}
		return TR_OK;
	}
	}
	if (v < f->min || v > f->max) {
		snprintf(err, errlen, "%s.%s: %lld outside %lld..%lld", tname, f->name, (long long)v,
			 (long long)f->min, (long long)f->max);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

int proto_validate_fields(const void *m, const proto_field *fields, size_t n,
			  const char *tname, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int rc = validate_field(m, &fields[i], tname, err, errlen);
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}

int proto_validate(const proto_msg *m, char *err, size_t errlen)
{
	const proto_schema *sc = proto_schema_of(m->type);
	if (!sc) {
		snprintf(err, errlen, "unknown message type %d", (int)m->type);
		return TR_ERR_INVALID;
	}
	int rc = proto_validate_fields(m, sc->fields, sc->nfields, sc->name, err, errlen);
	if (rc != TR_OK)
		return rc;
	return sc->check ? sc->check(m, err, errlen) : TR_OK;
}

static void free_fields(void *m, const proto_field *fields, size_t nfields)
{
	for (size_t i = 0; i < nfields; i++) {
		const proto_field *f = &fields[i];
		if (f->kind == PF_STR) {
			free(*PROTO_FIELD_PTR(m, f, char *));
		} else if (f->kind == PF_KV) {
			proto_kv *kv = *PROTO_FIELD_PTR(m, f, proto_kv *);
			size_t n = *PROTO_COUNT_PTR(m, f);
			for (size_t j = 0; kv && j < n; j++) {
				free(kv[j].key);
				free(kv[j].value);
			}
			free(kv);
		} else if (f->kind == PF_STRV) {
			char **sv = *PROTO_FIELD_PTR(m, f, char **);
			size_t n = *PROTO_COUNT_PTR(m, f);
			for (size_t j = 0; sv && j < n; j++)
				free(sv[j]);
			free(sv);
		} else if (f->kind == PF_I64V) {
			free(*PROTO_FIELD_PTR(m, f, int64_t *));
		} else if (f->kind == PF_RECS) {
			char *rv = *PROTO_FIELD_PTR(m, f, char *);
			size_t n = *PROTO_COUNT_PTR(m, f);
			for (size_t j = 0; rv && j < n; j++)
				free_fields(rv + j * f->elem_size, f->sub, f->nsub);
			free(rv);
		}
	}
}

void proto_msg_free(proto_msg *m)
{
	if (!m)
		return;
	const proto_schema *sc = proto_schema_of(m->type);
	if (sc)
		free_fields(m, sc->fields, sc->nfields);
	memset(m, 0, sizeof(*m));
}

const char *proto_type_name(int type)
{
	const proto_schema *sc = proto_schema_of(type);
	return sc ? sc->name : "unknown";
}

const char *proto_op_name(int op)
{
	static const char *const names[] = {
		[PROTO_OP_READY] = "ready",
		[PROTO_OP_LIST] = "list",
		[PROTO_OP_GET] = "get",
		[PROTO_OP_RETRIAGE] = "retriage",
		[PROTO_OP_ACKNOWLEDGE] = "acknowledge",
		[PROTO_OP_RESOLVE] = "resolve",
		[PROTO_OP_OVERRIDE] = "override",
		[PROTO_OP_STATS] = "stats",
		[PROTO_OP_SETTINGS_GET] = "settings_get",
		[PROTO_OP_SETTINGS_PUT] = "settings_put",
		[PROTO_OP_KEY_LOOKUP] = "key_lookup",
		[PROTO_OP_KEY_CREATE] = "key_create",
		[PROTO_OP_KEY_LIST] = "key_list",
		[PROTO_OP_KEY_REVOKE] = "key_revoke",
		[PROTO_OP_MODEL_GET] = "model_get",
		[PROTO_OP_INTEGRATIONS] = "integrations",
		[PROTO_OP_METRICS] = "metrics",
		[PROTO_OP_CHANNEL_LIST] = "channel_list",
		[PROTO_OP_CHANNEL_CREATE] = "channel_create",
		[PROTO_OP_CHANNEL_UPDATE] = "channel_update",
		[PROTO_OP_CHANNEL_DELETE] = "channel_delete",
		[PROTO_OP_CHANNEL_TEST] = "channel_test",
		[PROTO_OP_NOTIFICATIONS] = "notifications",
		[PROTO_OP_SIMILAR] = "similar",
		[PROTO_OP_FEEDBACK] = "feedback",
	};
	if (op < PROTO_OP_READY || (size_t)op >= sizeof names / sizeof names[0] || !names[op])
		return "unknown";
	return names[op];
}

const char *proto_outcome_name(int outcome)
{
	switch (outcome) {
	case PROTO_OUTCOME_TRIAGED: return "triaged";
	case PROTO_OUTCOME_FAILED: return "failed";
	case PROTO_OUTCOME_RETRY: return "retry";
	case PROTO_OUTCOME_RELEASED: return "released";
	}
	return "unknown";
}

const char *proto_kv_get(const proto_kv *kv, size_t n, const char *key)
{
	if (!kv || !key)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (kv[i].key && strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	}
	return NULL;
}
