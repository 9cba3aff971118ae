/* store_params: re-validation of query parameters, the cursor, overrides and model. */
#include "store_params.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_contract.h"
#include "store_json.h"
#include "tr_err.h"

/* The vocabularies are proto_contract's. */
static bool store_in(const char *s, const char *const *set)
{
	return s && proto_enum_find(set, s, strlen(s));
}

bool store_is_status(const char *s)
{
	return store_in(s, proto_statuses);
}

bool store_is_severity(const char *s)
{
	return store_in(s, proto_severities);
}

bool store_is_category(const char *s)
{
	return store_in(s, proto_categories);
}

bool store_is_state(const char *s)
{
	return store_in(s, proto_states);
}

void store_cursor_encode(int64_t id, char out[STORE_CURSOR_MAX])
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, id);
	if (!store_b64url_encode(num, strlen(num), out, STORE_CURSOR_MAX))
		out[0] = '\0';
}

int64_t store_cursor_decode(const char *cursor)
{
	char num[24];
	if (!cursor || strlen(cursor) > STORE_CURSOR_MAX)
		return -1;
	long n = store_b64url_decode(cursor, num, sizeof(num) - 1);
	if (n <= 0 || n > 19)
		return -1;
	num[n] = '\0';
	if (num[0] == '0')
		return -1; /* canonical: no leading zeros, no zero */
	for (long i = 0; i < n; i++) {
		if (!isdigit((unsigned char)num[i]))
			return -1;
	}
	errno = 0;
	long long v = strtoll(num, NULL, 10);
	if (errno || v <= 0)
		return -1;
	return (int64_t)v;
}

/* Escapes ILIKE's wildcards and its escape character; wraps in %. */
static void store_like_pattern(const char *q, char *out, size_t outlen)
{
	size_t o = 0;
	out[o++] = '%';
	for (const char *p = q; *p && o + 3 < outlen; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '%';
	out[o] = '\0';
}

int store_list_parse(const proto_kv *params, size_t n, store_list_query *out, char *detail,
		     size_t detlen)
{
	memset(out, 0, sizeof(*out));
	out->limit = PROTO_LIST_LIMIT_DEFAULT;
	for (size_t i = 0; i < n; i++) {
		const char *k = params[i].key, *v = params[i].value;
		if (!k || !v) {
			snprintf(detail, detlen, "parameters must have a name and a value");
			return TR_ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(params[j].key, k) == 0) {
				snprintf(detail, detlen, "%.64s: given more than once", k);
				return TR_ERR_INVALID;
			}
		}
		if (strcmp(k, "status") == 0) {
			if (!store_is_status(v))
				goto bad_enum;
			out->status = v;
		} else if (strcmp(k, "severity") == 0) {
			if (!store_is_severity(v))
				goto bad_enum;
			out->severity = v;
		} else if (strcmp(k, "category") == 0) {
			if (!store_is_category(v))
				goto bad_enum;
			out->category = v;
		} else if (strcmp(k, "state") == 0) {
			if (!store_is_state(v))
				goto bad_enum;
			out->state = v;
		} else if (strcmp(k, "q") == 0) {
			size_t chars = 0;
			if (!store_utf8_check(v, strlen(v), &chars) || chars < 1 ||
			    chars > PROTO_Q_MAX_CHARS) {
				snprintf(detail, detlen, "q: must be 1-%d characters of UTF-8",
					 PROTO_Q_MAX_CHARS);
				return TR_ERR_INVALID;
			}
			store_like_pattern(v, out->q_like, sizeof(out->q_like));
			out->has_q = true;
		} else if (strcmp(k, "limit") == 0) {
			char *end = NULL;
			errno = 0;
			long l = strtol(v, &end, 10);
			if (!isdigit((unsigned char)v[0]) || errno || *end || l < 1 ||
			    l > PROTO_LIST_LIMIT_MAX) {
				snprintf(detail, detlen, "limit: must be an integer 1-%d",
					 PROTO_LIST_LIMIT_MAX);
				return TR_ERR_INVALID;
			}
			out->limit = l;
		} else if (strcmp(k, "cursor") == 0) {
			int64_t id = store_cursor_decode(v);
			if (id <= 0) {
				snprintf(detail, detlen, "cursor: not a cursor from a previous page");
				return TR_ERR_INVALID;
			}
			out->before_id = id;
		} else {
			snprintf(detail, detlen, "unknown parameter '%.64s'", k);
			return TR_ERR_INVALID;
		}
		continue;
bad_enum:
		snprintf(detail, detlen, "%s: '%.64s' is not a valid value", k, v);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

int store_override_parse(const proto_kv *params, size_t n, const char **severity,
			 bool *set_severity, const char **category, bool *set_category,
			 char *detail, size_t detlen)
{
	*severity = *category = NULL;
	*set_severity = *set_category = false;
	for (size_t i = 0; i < n; i++) {
		const char *k = params[i].key, *v = params[i].value;
		if (!k || !v) {
			snprintf(detail, detlen, "parameters must have a name and a value");
			return TR_ERR_INVALID;
		}
		if (strcmp(k, "severity") == 0 && !*set_severity) {
			if (*v && !store_is_severity(v)) {
				snprintf(detail, detlen, "severity: '%.64s' is not one of critical, "
							 "high, medium, low", v);
				return TR_ERR_INVALID;
			}
			*severity = v;
			*set_severity = true;
		} else if (strcmp(k, "category") == 0 && !*set_category) {
			if (*v && !store_is_category(v)) {
				snprintf(detail, detlen, "category: '%.64s' is not a category", v);
				return TR_ERR_INVALID;
			}
			*category = v;
			*set_category = true;
		} else {
			snprintf(detail, detlen, "unknown or repeated parameter '%.64s'", k);
			return TR_ERR_INVALID;
		}
	}
	if (!*set_severity && !*set_category) {
		snprintf(detail, detlen, "nothing to change: give severity and/or category");
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

bool store_model_ok(const char *model)
{
	size_t n = model ? strlen(model) : 0;
	if (n < 1 || n > PROTO_SHORT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)model[i];
		if (!isalnum(c) && !strchr("._:/-", c))
			return false;
	}
	return true;
}

int store_resolve_parse(const proto_kv *params, size_t n, bool feedback_only, const char **note,
			const char **feedback, char *detail, size_t detlen)
{
	*note = *feedback = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *k = params[i].key, *v = params[i].value;
		if (!k || !v) {
			snprintf(detail, detlen, "parameters must have a name and a value");
			return TR_ERR_INVALID;
		}
		if (strcmp(k, "feedback") == 0 && !*feedback) {
			if (!proto_enum_find(proto_feedbacks, v, strlen(v))) {
				snprintf(detail, detlen,
					 "feedback: must be " PROTO_JOIN(PROTO_FEEDBACKS));
				return TR_ERR_INVALID;
			}
			*feedback = v;
		} else if (strcmp(k, "note") == 0 && !*note && !feedback_only) {
			size_t len = strlen(v);
			if (len < 1 || len > PROTO_NOTE_MAX || !store_utf8_check(v, len, NULL)) {
				snprintf(detail, detlen, "note: must be 1-%d bytes of UTF-8",
					 PROTO_NOTE_MAX);
				return TR_ERR_INVALID;
			}
			*note = v;
		} else {
			snprintf(detail, detlen, "unknown or repeated parameter '%.64s'", k);
			return TR_ERR_INVALID;
		}
	}
	if (feedback_only && !*feedback) {
		snprintf(detail, detlen, "feedback: required (right or wrong)");
		return TR_ERR_INVALID;
	}
	return TR_OK;
}
