/* gw_integrations: parsing a tool's body into a PROTO_ALERTS request (the parsers live
 * in gw_src_*.c), the delivery key, and the helpers the parsers share. */
#include "gw_integrations.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_sha256.h"
#include "tr_utf8.h"

const char *gw_source_name(gw_source s)
{
	switch (s) {
	case GW_SRC_ALERTMANAGER: return "alertmanager";
	case GW_SRC_GRAFANA: return "grafana";
	case GW_SRC_PAGERDUTY: return "pagerduty";
	}
	return "unknown";
}

bool gw_src_fail(char *detail, size_t dlen, const char *path, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(detail, dlen, "%s: %s", path, what);
	return false;
}

bool gw_src_opt_string(json_t *obj, const char *name, const char *path, size_t max_bytes,
		       const char **out, char *detail, size_t dlen)
{
	json_t *v = json_object_get(obj, name);
	char p[96];
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", name);
	if (!json_is_string(v))
		return gw_src_fail(detail, dlen, p, "must be a string");
	if (json_string_length(v) > max_bytes)
		return gw_src_fail(detail, dlen, p, "must be at most %zu bytes", max_bytes);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return gw_src_fail(detail, dlen, p, "contains a NUL character");
	*out = json_string_value(v);
	return true;
}

bool gw_src_string_map(json_t *obj, const char *name, const char *path, json_t **out,
		       char *detail, size_t dlen)
{
	json_t *m = json_object_get(obj, name);
	char p[96];
	const char *key;
	json_t *v;
	*out = NULL;
	if (!m || json_is_null(m))
		return true;
	snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", name);
	if (!json_is_object(m))
		return gw_src_fail(detail, dlen, p, "must be an object of strings");
	json_object_foreach(m, key, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			char kp[160];
			snprintf(kp, sizeof kp, "%s.%.48s", p, key);
			return gw_src_fail(detail, dlen, kp, "must be a string");
		}
	}
	*out = m;
	return true;
}

json_t *gw_src_clip(const char *s, size_t max_chars)
{
	size_t len = strlen(s), chars = 0, i = 0, cut = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = tr_utf8_next((const unsigned char *)s + i, len - i, &cp);
		if (n == 0)
			break;
		if (chars == max_chars - 3)
			cut = i;
		i += n;
		chars++;
	}
	if (chars <= max_chars)
		return json_string(s);
	char *text = malloc(cut + 4);
	if (!text)
		return NULL;
	memcpy(text, s, cut);
	memcpy(text + cut, "...", 4);
	json_t *r = json_string(text);
	free(text);
	return r;
}

json_t *gw_src_clip_bytes(const char *s, size_t max_bytes)
{
	size_t len = strlen(s);
	if (len <= max_bytes)
		return json_string(s);
	size_t cut = max_bytes - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	char *text = malloc(cut + 4);
	if (!text)
		return NULL;
	memcpy(text, s, cut);
	memcpy(text + cut, "...", 4);
	json_t *r = json_string(text);
	free(text);
	return r;
}

json_t *gw_src_labels(json_t *labels)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(labels, key, v) {
		if (json_object_size(out) == PROTO_LABELS_MAX)
			break;
		size_t klen = strlen(key);
		if (klen == 0 || klen > PROTO_LABEL_KEY_MAX ||
		    json_string_length(v) > PROTO_LABEL_VALUE_MAX)
			continue;
		json_object_set(out, key, v);
	}
	return out;
}

void gw_src_link(json_t *links, const char *rel, const char *href, const char *text)
{
	if (!href || !*href)
		return;
	json_t *l = json_pack("{s:s, s:s}", "rel", rel, "href", href);
	if (l && text && *text)
		json_object_set_new(l, "text", json_string(text));
	json_array_append_new(links, l);
}

char *gw_pd_invalid_json(const char *detail)
{
	json_t *j = json_pack("{s:s, s:s, s:[s]}", "status", "invalid event", "message",
			      "Event object is invalid", "errors", detail);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Details over GW_DETAILS_MAX bytes (a PagerDuty custom_details of 400 KB) would make
 * the incident too large to show: they are replaced by their size (the description
 * keeps their first 16 KiB where the source puts them there). */
static void gw_cap_details(json_t *events)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_t *d = json_object_get(ev, "details");
		char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
		if (text && strlen(text) > GW_DETAILS_MAX)
			json_object_set_new(ev, "details",
					    json_pack("{s:b, s:I}", "truncated", 1, "bytes",
						      (json_int_t)strlen(text)));
		free(text);
	}
}

/* One compact JSON object per line (compact JSON has no raw newline), each starting
 * with "a" and "fp" as the parsers pack them: the store reads those two without parsing
 * the rest. */
static bool gw_events_ndjson(json_t *events, char **out)
{
	size_t i, used = 0, cap = 4096;
	json_t *ev;
	char *buf = malloc(cap);
	if (!buf)
		return false;
	buf[0] = '\0';
	json_array_foreach(events, i, ev) {
		char *line = json_dumps(ev, JSON_COMPACT);
		size_t n = line ? strlen(line) : 0;
		if (!line || used + n + 2 > PROTO_ALERTS_MAX + 1) {
			free(line);
			free(buf);
			return false;
		}
		while (used + n + 2 > cap)
			cap *= 2;
		char *grown = realloc(buf, cap);
		if (!grown) {
			free(line);
			free(buf);
			return false;
		}
		buf = grown;
		if (used)
			buf[used++] = '\n';
		memcpy(buf + used, line, n + 1);
		used += n;
		free(line);
	}
	*out = buf;
	return true;
}

bool gw_integration_build(gw_source source, const char *body, size_t len,
			  const char *request_id, gw_auth *auth, gw_alerts_request *out,
			  char *detail, size_t dlen)
{
	bool ok = false;
	json_error_t jerr;
	json_t *events = NULL;
	size_t bad_at = 0;
	memset(out, 0, sizeof *out);
	json_t *root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!root) {
		if (len == 0)
			snprintf(detail, dlen, "body: empty, expected a JSON object");
		else if (!tr_utf8_valid(body, len, NULL, &bad_at))
			snprintf(detail, dlen, "body: invalid UTF-8 at byte %zu", bad_at);
		else
			snprintf(detail, dlen, "body: invalid JSON at line %d column %d: %s",
				 jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(detail, dlen, "body: must be a JSON object");
		goto out;
	}
	events = json_array();
	if (!events) {
		snprintf(detail, dlen, "body: out of memory");
		goto out;
	}
	if (source == GW_SRC_PAGERDUTY) {
		if (!gw_src_pagerduty(root, request_id, auth, events, detail, dlen))
			goto out;
	} else if (!gw_src_alertmanager(root, source == GW_SRC_GRAFANA, events, detail, dlen)) {
		goto out;
	}
	gw_cap_details(events);
	if (!gw_events_ndjson(events, &out->events)) {
		snprintf(detail, dlen, "body: too large once normalised");
		goto out;
	}
	/* the delivery: the source and the exact body (a retry sends the same bytes) */
	uint8_t d[GW_SHA256_LEN];
	char hex[2 * GW_SHA256_LEN + 1];
	const void *pieces[] = {gw_source_name(source), body};
	const size_t lens[] = {strlen(gw_source_name(source)) + 1, len};
	gw_sha256_v(2, pieces, lens, d);
	gw_hex(d, GW_SHA256_LEN, hex);
	snprintf(out->delivery_key, sizeof out->delivery_key, "%s:%s", gw_source_name(source), hex);
	out->alerts.request_id = (char *)request_id;
	out->alerts.source = (char *)gw_source_name(source);
	out->alerts.delivery_key = out->delivery_key;
	out->alerts.delivery_ttl_ms =
		source == GW_SRC_PAGERDUTY ? GW_DELIVERY_TTL_PD_MS : GW_DELIVERY_TTL_WEBHOOK_MS;
	out->alerts.events = out->events;
	ok = true;
out:
	json_decref(events);
	json_decref(root);
	if (!ok)
		gw_alerts_request_free(out);
	return ok;
}

void gw_alerts_request_free(gw_alerts_request *r)
{
	free(r->events);
	memset(r, 0, sizeof *r);
}
