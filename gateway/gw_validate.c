/* gw_validate: the gateway's input rules (docs/API.md), applied to bodies, query
 * parameters, path ids and headers before a request reaches the store. */
#include "gw_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto_contract.h"
#include "tr_utf8.h"

/* The vocabularies are proto_contract's; gw_enum_find matches len bytes of v. */
static const char *gw_enum_find(const char *const *names, const char *v, size_t len)
{
	return proto_enum_find(names, v, len);
}

bool gw_is_severity(const char *v)
{
	return proto_is_severity(v);
}

bool gw_is_category(const char *v)
{
	return proto_is_category(v);
}

static bool gw_fail(char *detail, size_t dlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool gw_fail(char *detail, size_t dlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, dlen, fmt, ap);
	va_end(ap);
	return false;
}

/* Copies a client-chosen name into a detail safely: at most 64 bytes, cut on a
 * character boundary (names come from parsed JSON, so they are valid UTF-8). */
static const char *gw_name_clip(const char *name, char buf[72])
{
	size_t len = strlen(name);
	if (len <= 64)
		return name;
	size_t cut = 64;
	while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(buf, name, cut);
	memcpy(buf + cut, "...", 4);
	return buf;
}

/* Parses a body as one strict JSON object. */
static json_t *gw_parse_object(const char *body, size_t len, char *detail, size_t dlen)
{
	size_t bad_at = 0;
	if (len == 0) {
		gw_fail(detail, dlen, "body: empty, expected a JSON object");
		return NULL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		/* jansson refuses invalid UTF-8 too; say so plainly (checked only on failure,
		 * to keep the common path to one pass over the body). */
		if (!tr_utf8_valid(body, len, NULL, &bad_at))
			gw_fail(detail, dlen, "body: invalid UTF-8 at byte %zu", bad_at);
		else
			gw_fail(detail, dlen, "body: invalid JSON at line %d column %d: %s",
				jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		gw_fail(detail, dlen, "body: must be a JSON object");
		return NULL;
	}
	return root;
}

/* Rejects any key of obj not in allowed (NULL-terminated). */
static bool gw_only_known(json_t *obj, const char *const *allowed, char *detail, size_t dlen)
{
	const char *key;
	json_t *v;
	char clip[72];
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok)
			return gw_fail(detail, dlen, "%s: unknown field", gw_name_clip(key, clip));
	}
	return true;
}

/* An optional (or required) string field with byte bounds; *out points into obj. */
static bool gw_string_field(json_t *obj, const char *name, bool required, size_t min, size_t max,
			    const char **out, char *detail, size_t dlen)
{
	json_t *v = json_object_get(obj, name);
	*out = NULL;
	if (!v || (!required && json_is_null(v))) {
		if (required)
			return gw_fail(detail, dlen, "%s: required", name);
		return true;
	}
	if (!json_is_string(v))
		return gw_fail(detail, dlen, "%s: must be a string", name);
	size_t len = json_string_length(v);
	if (len < min || len > max) {
		if (min > 0)
			return gw_fail(detail, dlen, "%s: must be %zu-%zu bytes", name, min, max);
		return gw_fail(detail, dlen, "%s: must be at most %zu bytes", name, max);
	}
	*out = json_string_value(v);
	return true;
}

static bool gw_labels_field(json_t *obj, gw_submit_body *b, char *detail, size_t dlen)
{
	json_t *labels = json_object_get(obj, "labels");
	char clip[72];
	if (!labels || json_is_null(labels))
		return true;
	if (!json_is_object(labels))
		return gw_fail(detail, dlen, "labels: must be an object of strings");
	if (json_object_size(labels) > PROTO_LABELS_MAX)
		return gw_fail(detail, dlen, "labels: at most %d entries", PROTO_LABELS_MAX);
	const char *key;
	json_t *v;
	size_t n = 0;
	json_object_foreach(labels, key, v) {
		size_t klen = strlen(key);
		if (klen == 0 || klen > PROTO_LABEL_KEY_MAX)
			return gw_fail(detail, dlen, "labels: keys must be 1-%d bytes",
				       PROTO_LABEL_KEY_MAX);
		if (!json_is_string(v))
			return gw_fail(detail, dlen, "labels.%s: must be a string",
				       gw_name_clip(key, clip));
		if (json_string_length(v) > PROTO_LABEL_VALUE_MAX)
			return gw_fail(detail, dlen, "labels.%s: must be at most %d bytes",
				       gw_name_clip(key, clip), PROTO_LABEL_VALUE_MAX);
		b->labels[n].key = (char *)key;
		b->labels[n].value = (char *)json_string_value(v);
		n++;
	}
	b->submit.labels = n ? b->labels : NULL;
	b->submit.nlabels = n;
	return true;
}

bool gw_validate_submit(const char *body, size_t len, gw_submit_body *out, char *detail,
			size_t dlen)
{
	static const char *const known[] = {"title",   "description", "source", "service",
					    "labels", "dedup_key",   NULL};
	gw_submit_body b;
	const char *title, *desc, *source, *service, *dedup;
	size_t nchars = 0;

	memset(out, 0, sizeof *out);
	memset(&b, 0, sizeof b);
	b.root = gw_parse_object(body, len, detail, dlen);
	if (!b.root)
		return false;
	if (!gw_only_known(b.root, known, detail, dlen))
		goto fail;
	if (!gw_string_field(b.root, "title", true, 0, PROTO_TITLE_MAX, &title, detail, dlen)) {
		if (json_is_string(json_object_get(b.root, "title")))
			gw_fail(detail, dlen, "title: must be 1-%d characters",
				PROTO_TITLE_MAX_CHARS);
		goto fail;
	}
	tr_utf8_valid(title, strlen(title), &nchars, NULL);
	if (nchars < 1 || nchars > PROTO_TITLE_MAX_CHARS) {
		gw_fail(detail, dlen, "title: must be 1-%d characters", PROTO_TITLE_MAX_CHARS);
		goto fail;
	}
	if (!gw_string_field(b.root, "description", true, 0, PROTO_DESC_MAX, &desc, detail, dlen))
		goto fail;
	if (!gw_string_field(b.root, "source", false, 0, PROTO_SHORT_MAX, &source, detail, dlen) ||
	    !gw_string_field(b.root, "service", false, 0, PROTO_SHORT_MAX, &service, detail,
			     dlen) ||
	    !gw_string_field(b.root, "dedup_key", false, 1, PROTO_SHORT_MAX, &dedup, detail, dlen))
		goto fail;
	if (!gw_labels_field(b.root, &b, detail, dlen))
		goto fail;
	b.submit.title = (char *)title;
	b.submit.description = (char *)desc;
	b.submit.source = (char *)source;
	b.submit.service = (char *)service;
	b.submit.dedup_key = (char *)dedup;
	*out = b;
	/* labels must point at the caller's copy of the array */
	if (out->submit.nlabels)
		out->submit.labels = out->labels;
	return true;
fail:
	json_decref(b.root);
	return false;
}

void gw_submit_body_free(gw_submit_body *b)
{
	if (b->root)
		json_decref(b->root);
	memset(b, 0, sizeof *b);
}

static bool gw_cursor_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("._~:=+/-", c) != NULL;
}

static bool gw_check_param(const gw_param *p, const char **canon, char *detail, size_t dlen)
{
	static const struct {
		const char *name;
		const char *const *names;
	} enums[] = {{"status", proto_statuses},
		     {"severity", proto_severities},
		     {"category", proto_categories},
		     {"state", proto_states}};
	const char *v = p->value;
	size_t len = p->value_len;

	static const char *const known[] = {"status", "severity", "category", "state",
					    "q",      "limit",    "cursor",   NULL};
	char clip[72];

	*canon = v;
	if (!gw_enum_find(known, p->key, strlen(p->key))) {
		if (!tr_utf8_valid(p->key, strlen(p->key), NULL, NULL))
			return gw_fail(detail, dlen, "unknown query parameter");
		return gw_fail(detail, dlen, "%s: unknown query parameter",
			       gw_name_clip(p->key, clip));
	}
	if (!v || len == 0)
		return gw_fail(detail, dlen, "%s: needs a value", p->key);
	if (strlen(v) != len)
		return gw_fail(detail, dlen, "%s: contains a NUL byte", p->key);
	for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
		if (strcmp(p->key, enums[i].name) != 0)
			continue;
		if (!gw_enum_find(enums[i].names, v, len)) {
			char list[160] = "";
			for (size_t k = 0; enums[i].names[k]; k++) {
				if (k)
					strcat(list, "|");
				strcat(list, enums[i].names[k]);
			}
			return gw_fail(detail, dlen, "%s: must be one of %s", p->key, list);
		}
		return true;
	}
	if (strcmp(p->key, "q") == 0) {
		size_t nchars = 0;
		if (!tr_utf8_valid(v, len, &nchars, NULL))
			return gw_fail(detail, dlen, "q: invalid UTF-8");
		if (nchars < 1 || nchars > PROTO_Q_MAX_CHARS)
			return gw_fail(detail, dlen, "q: must be 1-%d characters", PROTO_Q_MAX_CHARS);
		return true;
	}
	if (strcmp(p->key, "limit") == 0) {
		long n = 0;
		bool ok = len <= 3 && v[0] != '0';
		for (size_t i = 0; ok && i < len; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			n = n * 10 + (v[i] - '0');
		}
		if (!ok || n < 1 || n > PROTO_LIST_LIMIT_MAX)
			return gw_fail(detail, dlen, "limit: must be an integer 1-%d", PROTO_LIST_LIMIT_MAX);
		return true;
	}
	/* cursor */
	bool ok = len <= GW_CURSOR_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = gw_cursor_char(v[i]);
	if (!ok)
		return gw_fail(detail, dlen, "cursor: not a cursor from a previous page");
	return true;
}

bool gw_validate_list_params(const gw_param *in, size_t n, proto_kv *out, size_t *nout,
			     char *detail, size_t dlen)
{
	*nout = 0;
	if (n > PROTO_PARAMS_MAX)
		return gw_fail(detail, dlen, "query: too many parameters");
	for (size_t i = 0; i < n; i++) {
		const char *canon;
		if (!gw_check_param(&in[i], &canon, detail, dlen))
			return false;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(in[k].key, in[i].key) == 0)
				return gw_fail(detail, dlen, "%s: given more than once", in[i].key);
		}
		out[i].key = (char *)in[i].key;
		out[i].value = (char *)canon;
	}
	*nout = n;
	return true;
}

bool gw_validate_override(const char *body, size_t len, proto_kv *out, size_t *nout,
			  char *detail, size_t dlen)
{
	static const char *const known[] = {"severity", "category", NULL};
	static const struct {
		const char *name;
		const char *const *names;
		const char *rule;
	} fields[] = {{"severity", proto_severities, PROTO_JOIN(PROTO_SEVERITIES) " or null"},
		      {"category", proto_categories, PROTO_JOIN(PROTO_CATEGORIES) " or null"}};
	bool ok = false;
	*nout = 0;
	json_t *root = gw_parse_object(body, len, detail, dlen);
	if (!root)
		return false;
	if (!gw_only_known(root, known, detail, dlen))
		goto out;
	size_t n = 0;
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(root, fields[i].name);
		if (!v)
			continue;
		const char *canon = "";
		if (!json_is_null(v)) {
			if (!json_is_string(v) ||
			    !(canon = gw_enum_find(fields[i].names, json_string_value(v),
						   json_string_length(v)))) {
				gw_fail(detail, dlen, "%s: must be %s", fields[i].name,
					fields[i].rule);
				goto out;
			}
		}
		out[n].key = (char *)fields[i].name;
		out[n].value = (char *)canon;
		n++;
	}
	if (n == 0) {
		gw_fail(detail, dlen, "body: give severity and/or category");
		goto out;
	}
	*nout = n;
	ok = true;
out:
	json_decref(root);
	return ok;
}

bool gw_validate_settings(const char *body, size_t len, char *model, char *detail, size_t dlen)
{
	static const char *const known[] = {"model", NULL};
	bool ok = false;
	const char *m;
	json_t *root = gw_parse_object(body, len, detail, dlen);
	if (!root)
		return false;
	if (!gw_only_known(root, known, detail, dlen) ||
	    !gw_string_field(root, "model", true, 1, GW_MODEL_MAX, &m, detail, dlen))
		goto out;
	for (const char *p = m; *p; p++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("._:/-", c))) {
			gw_fail(detail, dlen, "model: only letters, digits and . _ : / - allowed");
			goto out;
		}
	}
	memcpy(model, m, strlen(m) + 1);
	ok = true;
out:
	json_decref(root);
	return ok;
}

bool gw_parse_id(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || len > 19 || s[0] == '0')
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

bool gw_validate_idempotency_key(const char *v, char *detail, size_t dlen)
{
	size_t len = strlen(v);
	if (len < 1 || len > PROTO_SHORT_MAX)
		return gw_fail(detail, dlen, "Idempotency-Key: must be 1-%d bytes", PROTO_SHORT_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= 0x20 || c >= 0x7f)
			return gw_fail(detail, dlen, "Idempotency-Key: only visible ASCII allowed");
	}
	return true;
}

static int gw_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t gw_url_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		int hi, lo;
		if (*r == '+') {
			*w++ = ' ';
			r++;
		} else if (*r == '%' && (hi = gw_hexval(r[1])) >= 0 && (lo = gw_hexval(r[2])) >= 0 &&
			   (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
