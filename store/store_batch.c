/* store_batch: per-submit checks, in-batch duplicates and the INSERT's array
 * parameters; the pure half of store_ingest. */
#include "store_batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool store_same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool store_text_ok(const char *name, const char *s, size_t min, size_t max_bytes,
			  char *detail, size_t detlen)
{
	if (!s)
		return true;
	size_t len = strlen(s);
	if (len < min || len > max_bytes) {
		snprintf(detail, detlen, "%s: must be %zu-%zu bytes", name, min, max_bytes);
		return false;
	}
	if (!store_utf8_check(s, len, NULL)) {
		snprintf(detail, detlen, "%s: invalid UTF-8", name);
		return false;
	}
	return true;
}

bool store_submit_check(const proto_submit *s, char *detail, size_t detlen)
{
	size_t chars = 0;
	if (!s->request_id || !s->title || !s->description) {
		snprintf(detail, detlen, "request_id, title and description are required");
		return false;
	}
	if (!store_text_ok("request_id", s->request_id, 1, PROTO_SHORT_MAX, detail, detlen) ||
	    !store_text_ok("idempotency_key", s->idempotency_key, 1, PROTO_SHORT_MAX, detail,
			   detlen) ||
	    !store_text_ok("description", s->description, 0, PROTO_DESC_MAX, detail, detlen) ||
	    !store_text_ok("source", s->source, 0, PROTO_SHORT_MAX, detail, detlen) ||
	    !store_text_ok("service", s->service, 0, PROTO_SHORT_MAX, detail, detlen) ||
	    !store_text_ok("dedup_key", s->dedup_key, 1, PROTO_SHORT_MAX, detail, detlen) ||
	    !store_text_ok("retry_key", s->retry_key, 1, PROTO_SHORT_MAX, detail, detlen))
		return false;
	if (!store_utf8_check(s->title, strlen(s->title), &chars)) {
		snprintf(detail, detlen, "title: invalid UTF-8");
		return false;
	}
	if (chars < 1 || chars > PROTO_TITLE_MAX_CHARS) {
		snprintf(detail, detlen, "title: must be 1-%d characters", PROTO_TITLE_MAX_CHARS);
		return false;
	}
	if (s->nlabels > PROTO_LABELS_MAX) {
		snprintf(detail, detlen, "labels: at most %d entries", PROTO_LABELS_MAX);
		return false;
	}
	for (size_t i = 0; i < s->nlabels; i++) {
		const proto_kv *kv = &s->labels[i];
		if (!kv->key || !kv->value ||
		    !store_text_ok("labels key", kv->key, 1, PROTO_LABEL_KEY_MAX, detail, detlen) ||
		    !store_text_ok("labels value", kv->value, 0, PROTO_LABEL_VALUE_MAX, detail,
				   detlen))
			return false;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(s->labels[j].key, kv->key) == 0) {
				snprintf(detail, detlen, "labels: duplicate key");
				return false;
			}
		}
	}
	return true;
}

/* O(n^2) over the batch: fine for the default batch (<= 512) and the typical one (the
 * number of requests in flight, tens). */
void store_batch_plan(const proto_submit *const *subs, size_t n, store_slot *slots)
{
	for (size_t i = 0; i < n; i++) {
		store_slot *sl = &slots[i];
		const proto_submit *s = subs[i];
		sl->kind = STORE_SLOT_INSERT;
		sl->leader = (int)i;
		sl->detail[0] = '\0';
		if (!store_submit_check(s, sl->detail, sizeof(sl->detail))) {
			sl->kind = STORE_SLOT_INVALID;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (slots[j].kind == STORE_SLOT_INVALID)
				continue;
			if (store_same(subs[j]->request_id, s->request_id)) {
				sl->kind = STORE_SLOT_SAME_REQUEST;
				sl->leader = (int)j;
				break;
			}
		}
		if (sl->kind != STORE_SLOT_INSERT)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (slots[j].kind != STORE_SLOT_INSERT)
				continue;
			if (store_same(subs[j]->idempotency_key, s->idempotency_key)) {
				sl->kind = STORE_SLOT_SAME_KEY;
				sl->leader = (int)j;
				break;
			}
		}
		if (sl->kind != STORE_SLOT_INSERT)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (slots[j].kind != STORE_SLOT_INSERT)
				continue;
			if (store_same(subs[j]->dedup_key, s->dedup_key)) {
				sl->kind = STORE_SLOT_OCCURRENCE;
				sl->leader = (int)j;
				break;
			}
		}
	}
}

bool store_labels_json(store_buf *b, const proto_kv *labels, size_t nlabels)
{
	store_buf_add(b, "{", 1);
	for (size_t i = 0; i < nlabels; i++) {
		if (i)
			store_buf_add(b, ",", 1);
		store_buf_json_str(b, labels[i].key);
		store_buf_add(b, ":", 1);
		store_buf_json_str(b, labels[i].value);
	}
	return store_buf_add(b, "}", 1);
}

bool store_batch_arrays_build(const proto_submit *const *subs, size_t n,
			      const store_slot *slots, store_batch_arrays *out)
{
	/* a cap, not an allocation: escaping at most doubles a bounded field */
	size_t cap = n * (4 * PROTO_DESC_MAX + 1024) + 64;
	store_buf labels;
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < STORE_BATCH_NCOLS; c++) {
		store_buf_init(&out->col[c], c == 7 ? cap * 4 : cap);
		store_buf_array_open(&out->col[c]);
	}
	store_buf_init(&labels, 64 * 1024);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].kind != STORE_SLOT_INSERT)
			continue;
		const proto_submit *s = subs[i];
		store_buf_array_item(&out->col[0], s->request_id);
		store_buf_array_item(&out->col[1], s->idempotency_key);
		store_buf_array_item(&out->col[2], s->title);
		store_buf_array_item(&out->col[3], s->description);
		store_buf_array_item(&out->col[4], s->source);
		store_buf_array_item(&out->col[5], s->service);
		store_buf_array_item(&out->col[6], s->dedup_key);
		store_buf_array_item(&out->col[8], s->retry_key);
		char deadline[24];
		snprintf(deadline, sizeof(deadline), "%" PRId64, s->deadline_ms);
		store_buf_array_item(&out->col[9], s->deadline_ms > 0 ? deadline : NULL);
		labels.len = 0;
		labels.failed = false;
		if (!store_labels_json(&labels, s->labels, s->nlabels))
			out->col[7].failed = true;
		else
			store_buf_array_item(&out->col[7], labels.data);
		out->rows++;
	}
	store_buf_free(&labels);
	bool ok = true;
	for (int c = 0; c < STORE_BATCH_NCOLS; c++) {
		store_buf_array_close(&out->col[c]);
		ok = ok && !out->col[c].failed;
	}
	return ok;
}

void store_batch_arrays_free(store_batch_arrays *a)
{
	for (int c = 0; c < STORE_BATCH_NCOLS; c++)
		store_buf_free(&a->col[c]);
	a->rows = 0;
}

void store_format_ts(int64_t ms, char out[48])
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void store_json_opt(store_buf *b, const char *key, const char *value)
{
	store_buf_addf(b, ",\"%s\":", key);
	if (value)
		store_buf_json_str(b, value);
	else
		store_buf_adds(b, "null");
}

char *store_created_json(const proto_submit *s, int64_t id, int64_t created_ms,
			 int64_t recurrence_of, int64_t recurrences_7d)
{
	char ts[48];
	store_buf b;
	store_format_ts(created_ms, ts);
	store_buf_init(&b, PROTO_JSON_MAX);
	store_buf_addf(&b, "{\"id\":%" PRId64 ",\"title\":", id);
	store_buf_json_str(&b, s->title);
	store_buf_adds(&b, ",\"description\":");
	store_buf_json_str(&b, s->description);
	store_json_opt(&b, "source", s->source);
	store_json_opt(&b, "service", s->service);
	store_buf_adds(&b, ",\"labels\":");
	store_labels_json(&b, s->labels, s->nlabels);
	store_json_opt(&b, "dedup_key", s->dedup_key);
	store_buf_adds(&b, ",\"occurrence_count\":1,\"status\":\"submitted\",\"attempt\":0,"
			   "\"failure_reason\":null,\"failure_detail\":null,\"triage\":null,"
			   "\"override\":{\"severity\":null,\"category\":null},"
			   "\"severity\":null,\"category\":null,\"state\":\"open\",\"version\":1");
	store_buf_addf(&b, ",\"created_at\":\"%s\",\"updated_at\":\"%s\",\"last_seen_at\":\"%s\","
			   "\"acknowledged_at\":null,\"resolved_at\":null",
		       ts, ts, ts);
	/* sql/008_sources.sql: what an alerting tool said (nothing, for a submit) */
	store_buf_adds(&b, ",\"source_severity\":null,\"source_links\":[],\"source_details\":{}");
	if (recurrence_of > 0)
		store_buf_addf(&b, ",\"recurrence_of\":%" PRId64, recurrence_of);
	else
		store_buf_adds(&b, ",\"recurrence_of\":null");
	store_buf_addf(&b, ",\"recurrences_7d\":%" PRId64, recurrences_7d);
	/* sql/011_memory.sql: what fixed it, and the responders' verdict on the triage */
	store_buf_adds(&b, ",\"resolution_note\":null,\"triage_feedback\":null}");
	return store_buf_take(&b);
}
