/* triage: the triage record's enums, validator, parser from a model's JSON answer, the
 * JSON schema models are constrained with, and the record's JSON form for output. */
#include "triage.h"
#include "proto_contract.h"
#include "tr_utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool triage_is_severity(const char *s)
{
	return proto_is_severity(s);
}

bool triage_is_category(const char *s)
{
	return proto_is_category(s);
}

/* True if s is valid UTF-8 without control characters (C0, DEL). */
static bool text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x20 || p[i] == 0x7F)
			return false;
		size_t l = tr_utf8_next(p + i, n - i, NULL);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

void triage_clean_text(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	if (!dstlen)
		return;
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	if (!src)
		srclen = 0;
	size_t o = 0;
	for (size_t i = 0; i < srclen;) {
		size_t l = tr_utf8_next(p + i, srclen - i, NULL);
		if (l == 0) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + l >= dstlen)
			break;
		if (l == 1 && (p[i] < 0x20 || p[i] == 0x7F))
			dst[o++] = ' ';
		else
			memcpy(dst + o, p + i, l), o += l;
		i += l;
	}
	dst[o] = '\0';
}

bool triage_validate(const triage_result *t, char *why, size_t whylen)
{
	if (!triage_is_severity(t->severity)) {
		snprintf(why, whylen, "severity is not one of critical|high|medium|low");
		return false;
	}
	if (!triage_is_category(t->category)) {
		snprintf(why, whylen, "category is not one of the taxonomy");
		return false;
	}
	size_t slen = strnlen(t->summary, sizeof t->summary);
	if (slen == 0 || slen > PROTO_SUMMARY_MAX) {
		snprintf(why, whylen, "summary is empty or longer than %d bytes", PROTO_SUMMARY_MAX);
		return false;
	}
	if (!text_ok(t->summary)) {
		snprintf(why, whylen, "summary is not clean UTF-8 text");
		return false;
	}
	if (t->nactions > PROTO_ACTIONS_MAX) {
		snprintf(why, whylen, "more than %d suggested actions", PROTO_ACTIONS_MAX);
		return false;
	}
	for (size_t i = 0; i < t->nactions; i++) {
		size_t alen = strnlen(t->actions[i], sizeof t->actions[i]);
		if (alen == 0 || alen > PROTO_ACTION_MAX || !text_ok(t->actions[i])) {
			snprintf(why, whylen, "suggested action %zu is empty, too long or not clean text",
				 i + 1);
			return false;
		}
	}
	if (!(t->confidence >= 0.0 && t->confidence <= 1.0)) {
		snprintf(why, whylen, "confidence is outside [0, 1]");
		return false;
	}
	if (strnlen(t->backend, sizeof t->backend) == 0 || !text_ok(t->backend) ||
	    strnlen(t->model, sizeof t->model) > PROTO_SHORT_MAX || !text_ok(t->model) ||
	    strnlen(t->prompt_version, sizeof t->prompt_version) >= sizeof t->prompt_version) {
		snprintf(why, whylen, "provenance (backend, model, prompt version) is invalid");
		return false;
	}
	return true;
}

/* Copies a JSON string into dst (capacity max+1) with line breaks and tabs made spaces
 * and surrounding whitespace trimmed. Fails (never truncates) when the result is empty,
 * longer than max bytes, or holds another control character. */
static bool take_text(const json_t *v, char *dst, size_t max, const char *name, char *why,
		      size_t whylen)
{
	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s is not a string", name);
		return false;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	size_t b = 0, e = n;
	while (b < e && (s[b] == ' ' || s[b] == '\n' || s[b] == '\r' || s[b] == '\t'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\r' || s[e - 1] == '\t'))
		e--;
	if (e == b) {
		snprintf(why, whylen, "%s is empty", name);
		return false;
	}
	if (e - b > max) {
		snprintf(why, whylen, "%s is longer than %zu bytes", name, max);
		return false;
	}
	for (size_t i = b; i < e; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7F) {
			snprintf(why, whylen, "%s holds a control character", name);
			return false;
		}
		dst[i - b] = (char)c;
	}
	dst[e - b] = '\0';
	return true;
}

static bool take_enum(const json_t *v, char *dst, size_t dstlen, bool (*ok)(const char *),
		      const char *name, char *why, size_t whylen)
{
	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s is missing or not a string", name);
		return false;
	}
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !ok(s)) {
		char shown[40];
		triage_clean_text(shown, sizeof shown, s, json_string_length(v));
		snprintf(why, whylen, "%s '%s' is not an allowed value", name, shown);
		return false;
	}
	snprintf(dst, dstlen, "%s", s);
	return true;
}

bool triage_parse_json(const char *text, size_t len, triage_result *out, char *why,
		       size_t whylen)
{
	bool ok = false;
	json_error_t jerr;
	json_t *root = NULL;

	if (!text || len == 0) {
		snprintf(why, whylen, "empty answer");
		goto out;
	}
	if (len > PROTO_JSON_MAX) {
		snprintf(why, whylen, "answer longer than %d bytes", PROTO_JSON_MAX);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		snprintf(why, whylen, "answer is not JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "answer is not a JSON object");
		goto out;
	}
	json_t *summary = json_object_get(root, "summary");
	if (!summary) {
		snprintf(why, whylen, "summary is missing");
		goto out;
	}
	if (!take_text(summary, out->summary, PROTO_SUMMARY_MAX, "summary", why, whylen))
		goto out;
	if (!take_enum(json_object_get(root, "severity"), out->severity, sizeof out->severity,
		       triage_is_severity, "severity", why, whylen))
		goto out;
	if (!take_enum(json_object_get(root, "category"), out->category, sizeof out->category,
		       triage_is_category, "category", why, whylen))
		goto out;
	json_t *actions = json_object_get(root, "suggested_actions");
	if (!json_is_array(actions)) {
		snprintf(why, whylen, "suggested_actions is missing or not an array");
		goto out;
	}
	if (json_array_size(actions) > PROTO_ACTIONS_MAX) {
		snprintf(why, whylen, "more than %d suggested actions", PROTO_ACTIONS_MAX);
		goto out;
	}
	out->nactions = json_array_size(actions);
	for (size_t i = 0; i < out->nactions; i++) {
		if (!take_text(json_array_get(actions, i), out->actions[i], PROTO_ACTION_MAX,
			       "a suggested action", why, whylen))
			goto out;
	}
	json_t *conf = json_object_get(root, "confidence");
	if (!json_is_number(conf)) {
		snprintf(why, whylen, "confidence is missing or not a number");
		goto out;
	}
	out->confidence = json_number_value(conf);
	if (!(out->confidence >= 0.0 && out->confidence <= 1.0)) {
		snprintf(why, whylen, "confidence is outside [0, 1]");
		goto out;
	}
	/* The cleaned text must also pass the record's own checks (UTF-8 is jansson's). */
	if (!text_ok(out->summary)) {
		snprintf(why, whylen, "summary is not clean UTF-8 text");
		goto out;
	}
	for (size_t i = 0; i < out->nactions; i++) {
		if (!text_ok(out->actions[i])) {
			snprintf(why, whylen, "a suggested action is not clean UTF-8 text");
			goto out;
		}
	}
	ok = true;
out:
	json_decref(root);
	return ok;
}

static json_t *string_enum(const char *const *list, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, json_string(list[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o}", "type", "string", "enum", arr);
}

json_t *triage_schema(void)
{
	return json_pack(
		"{s:s, s:{s:{s:s, s:i, s:i}, s:o, s:o, s:{s:s, s:{s:s, s:i, s:i}, s:i}, "
		"s:{s:s, s:i, s:i}, s:{s:s, s:{s:s, s:i}, s:i}}, s:[s,s,s,s,s], s:b}",
		"type", "object",
		"properties",
		"summary", "type", "string", "minLength", 1, "maxLength", TRIAGE_SUMMARY_CHARS,
		"severity", string_enum(proto_severities, PROTO_NSEVERITIES),
		"category", string_enum(proto_categories, PROTO_NCATEGORIES),
		"suggested_actions", "type", "array", "items", "type", "string", "minLength", 1,
		"maxLength", TRIAGE_ACTION_CHARS, "maxItems", PROTO_ACTIONS_MAX,
		"confidence", "type", "number", "minimum", 0, "maximum", 1,
		"similar_used", "type", "array", "items", "type", "integer", "minimum", 1,
		"maxItems", PROTO_SIMILAR_MAX,
		"required", "summary", "severity", "category", "suggested_actions", "confidence",
		"additionalProperties", 0);
}

static json_t *count_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *triage_to_json(const triage_result *t)
{
	json_t *actions = json_array();
	for (size_t i = 0; actions && i < t->nactions; i++) {
		if (json_array_append_new(actions, json_string(t->actions[i])) != 0) {
			json_decref(actions);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:f, s:s, s:s, s:s, s:I, s:{s:o, s:o}}",
			 "summary", t->summary, "severity", t->severity, "category", t->category,
			 "suggested_actions", actions, "confidence", t->confidence, "backend",
			 t->backend, "model", t->model, "prompt_version", t->prompt_version,
			 "latency_ms", (json_int_t)t->latency_ms, "tokens", "prompt",
			 count_or_null(t->prompt_tokens), "completion",
			 count_or_null(t->completion_tokens));
}

void triage_parse_similar_used(const char *text, size_t len, const triage_incident *in,
			       triage_result *out)
{
	out->nsimilar_used = 0;
	if (in && in->nexamples == 0)
		return;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *ids = json_object_get(root, "similar_used");
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v) || out->nsimilar_used == PROTO_SIMILAR_MAX)
			continue;
		int64_t id = (int64_t)json_integer_value(v);
		bool given = !in && id > 0, seen = false;
		for (size_t k = 0; in && k < in->nexamples; k++)
			given |= in->examples[k].incident_id == id;
		for (size_t k = 0; k < out->nsimilar_used; k++)
			seen |= out->similar_used[k] == id;
		if (given && !seen)
			out->similar_used[out->nsimilar_used++] = id;
	}
	json_decref(root);
}

void triage_filter_similar_used(const triage_incident *in, triage_result *out)
{
	size_t kept = 0;
	for (size_t i = 0; i < out->nsimilar_used; i++) {
		bool given = false;
		for (size_t k = 0; in && k < in->nexamples; k++)
			given |= in->examples[k].incident_id == out->similar_used[i];
		if (given)
			out->similar_used[kept++] = out->similar_used[i];
	}
	out->nsimilar_used = kept;
}
