/* gw_channels: notification channel routes and the checks of a channel body, before
 * anything reaches the store. */
#include "gw_channels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw_routes.h"
#include "gw_validate.h"
#include "proto_contract.h"
#include "tr_utf8.h"

static const char *const gw_ch_kinds[] = {"webhook", "slack", NULL};
static const char *const gw_ch_events[] = {"triaged", "severity_raised", "resolved", NULL};

static bool gw_ch_fail(char *detail, size_t dlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool gw_ch_fail(char *detail, size_t dlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, dlen, fmt, ap);
	va_end(ap);
	return false;
}

static const char *gw_ch_enum(const char *const *names, json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], json_string_value(v)) == 0 &&
		    strlen(names[i]) == json_string_length(v))
			return names[i];
	}
	return NULL;
}

/* A string without control characters or NUL, lo..hi bytes (chars: count characters). */
static const char *gw_ch_string(json_t *v, size_t lo, size_t hi, bool chars)
{
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len)
		return NULL;
	size_t n = len;
	if (chars && !tr_utf8_valid(s, len, &n, NULL))
		return NULL;
	if (n < lo || n > hi)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	}
	return s;
}

/* Joins an array of checked strings with commas into out (cap bytes). names: an enum,
 * or NULL for free names (1-100 bytes, no comma). */
static bool gw_ch_list(json_t *v, const char *const *names, size_t most, bool nonempty,
		       char *out, size_t cap)
{
	size_t used = 0, i;
	json_t *item;
	out[0] = '\0';
	if (!json_is_array(v) || json_array_size(v) > most || (nonempty && !json_array_size(v)))
		return false;
	json_array_foreach(v, i, item) {
		const char *s = names ? gw_ch_enum(names, item) : gw_ch_string(item, 1, 100, false);
		if (!s || strchr(s, ','))
			return false;
		int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", s);
		if (w < 0 || (size_t)w >= cap - used)
			return false;
		used += (size_t)w;
	}
	return true;
}

static bool gw_ch_url(const char *u)
{
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	const char *host = u + (u[4] == 's' ? 8 : 7);
	if (!*host || *host == '/')
		return false;
	for (const char *p = u; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

bool gw_channel_validate(const char *body, size_t len, bool create, gw_channel_body *b,
			 proto_kv *out, size_t *nout, char *detail, size_t dlen)
{
	static const char *const known[] = {"name",	    "kind",	  "url",    "secret",
					    "min_severity", "categories", "services", "events",
					    "hold_down_s",  "enabled",	  NULL};
	json_error_t jerr;
	size_t n = *nout;
	const char *key;
	json_t *v;
	b->root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!b->root || !json_is_object(b->root))
		return gw_ch_fail(detail, dlen, "body: expected one JSON object");
	json_object_foreach(b->root, key, v) {
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(known[i], key) == 0;
		if (!ok)
			return gw_ch_fail(detail, dlen, "%.64s: unknown field", key);
	}
	json_t *kind = json_object_get(b->root, "kind");
	json_t *secret = json_object_get(b->root, "secret");
	if (create && (!json_object_get(b->root, "name") || !kind ||
		       !json_object_get(b->root, "url")))
		return gw_ch_fail(detail, dlen, "body: name, kind and url are required");
	if (!create && json_object_size(b->root) == 0)
		return gw_ch_fail(detail, dlen, "body: give at least one field to change");
	if (kind && !gw_ch_enum(gw_ch_kinds, kind))
		return gw_ch_fail(detail, dlen, "kind: must be webhook|slack");
	if (create && strcmp(json_string_value(kind), "webhook") == 0 &&
	    (!secret || json_is_null(secret)))
		return gw_ch_fail(detail, dlen, "secret: required for a webhook channel (HMAC key)");
	if (secret && !json_is_null(secret) && kind &&
	    strcmp(json_string_value(kind), "slack") == 0)
		return gw_ch_fail(detail, dlen, "secret: only webhook channels sign their bodies");
	json_object_foreach(b->root, key, v) {
		const char *val = NULL;
		if (strcmp(key, "name") == 0) {
			if (!(val = gw_ch_string(v, 1, 100, true)))
				return gw_ch_fail(detail, dlen, "name: must be 1-100 characters");
		} else if (strcmp(key, "kind") == 0) {
			val = gw_ch_enum(gw_ch_kinds, v);
		} else if (strcmp(key, "url") == 0) {
			if (!(val = gw_ch_string(v, 8, 1000, false)) || !gw_ch_url(val))
				return gw_ch_fail(detail, dlen,
						  "url: must be an http:// or https:// URL of at most "
						  "1000 bytes without spaces");
		} else if (strcmp(key, "secret") == 0) {
			if (json_is_null(v))
				val = "";
			else if (!(val = gw_ch_string(v, 1, 255, false)))
				return gw_ch_fail(detail, dlen, "secret: must be 1-255 bytes or null");
		} else if (strcmp(key, "min_severity") == 0) {
			if (json_is_null(v))
				val = "";
			else if (!(val = gw_ch_enum(proto_severities, v)))
				return gw_ch_fail(detail, dlen,
						  "min_severity: must be " PROTO_JOIN(PROTO_SEVERITIES) " or null");
		} else if (strcmp(key, "categories") == 0) {
			if (!gw_ch_list(v, proto_categories, PROTO_NCATEGORIES, false, b->categories,
					sizeof b->categories))
				return gw_ch_fail(detail, dlen,
						  "categories: must be an array of category names");
			val = b->categories;
		} else if (strcmp(key, "services") == 0) {
			if (!gw_ch_list(v, NULL, GW_CHANNEL_SERVICES_MAX, false, b->services,
					sizeof b->services))
				return gw_ch_fail(detail, dlen,
						  "services: must be an array of at most 20 names of "
						  "1-100 bytes without commas");
			val = b->services;
		} else if (strcmp(key, "events") == 0) {
			if (!gw_ch_list(v, gw_ch_events, 3, true, b->events, sizeof b->events))
				return gw_ch_fail(detail, dlen,
						  "events: must be a non-empty array of "
						  "triaged|severity_raised|resolved");
			val = b->events;
		} else if (strcmp(key, "hold_down_s") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 86400)
				return gw_ch_fail(detail, dlen,
						  "hold_down_s: must be an integer 0..86400");
			snprintf(b->hold_down_s, sizeof b->hold_down_s, "%lld",
				 (long long)json_integer_value(v));
			val = b->hold_down_s;
		} else if (strcmp(key, "enabled") == 0) {
			if (!json_is_boolean(v))
				return gw_ch_fail(detail, dlen, "enabled: must be true or false");
			val = json_is_true(v) ? "true" : "false";
		}
		if (n >= PROTO_PARAMS_MAX)
			return gw_ch_fail(detail, dlen, "body: too many fields");
		out[n].key = (char *)key;
		out[n].value = (char *)val;
		n++;
	}
	*nout = n;
	return true;
}

void gw_channel_body_free(gw_channel_body *b)
{
	json_decref(b->root);
	b->root = NULL;
}

bool gw_channel_match(const char *path, int *route, unsigned *allowed, int64_t *channel_id)
{
	*channel_id = 0;
	if (strcmp(path, "/channels") == 0) {
		*route = GW_R_CHANNELS; /* role: admin */
		*allowed = GW_M_GET | GW_M_POST;
		return true;
	}
	if (strncmp(path, "/channels/", 10) != 0)
		return false;
	const char *seg = path + 10;
	const char *slash = strchr(seg, '/');
	size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
	if (!gw_parse_id(seg, len, channel_id))
		return false;
	if (!slash) {
		*route = GW_R_CHANNEL; /* role: admin */
		*allowed = GW_M_PATCH | GW_M_DELETE;
		return true;
	}
	if (strcmp(slash, "/test") == 0) {
		*route = GW_R_CHANNEL_TEST; /* role: admin */
		*allowed = GW_M_POST;
		return true;
	}
	return false;
}
