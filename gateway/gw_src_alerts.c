/* gw_src_alerts: Prometheus Alertmanager's webhook (version "4") and Grafana unified
 * alerting's webhook (version "1", the same group shape plus Grafana's fields). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_integrations.h"

/* Title "<alertname>: k=v, k=v" from the labels (else "Alert <fingerprint>"). */
static json_t *gw_alert_label_title(json_t *labels, const char *fp)
{
	const char *name = json_string_value(json_object_get(labels, "alertname"));
	char buf[1024];
	size_t used = (size_t)snprintf(buf, sizeof buf, "%s", name && *name ? name : "Alert");
	const char *key;
	json_t *v;
	bool first = true;
	if (!name || !*name)
		used += (size_t)snprintf(buf + used, sizeof buf - used, " %s", fp);
	json_object_foreach(labels, key, v) {
		if (!strcmp(key, "alertname") || used >= sizeof buf - 1)
			continue;
		int n = snprintf(buf + used, sizeof buf - used, "%s%s=%s", first ? ": " : ", ", key,
				 json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof buf - used) {
			used = sizeof buf - 1;
			break;
		}
		used += (size_t)n;
		first = false;
	}
	/* snprintf may have cut a character in two: clip on a boundary */
	while (used > 0 && ((unsigned char)buf[used] & 0xc0) == 0x80)
		used--;
	buf[used] = '\0';
	return gw_src_clip(buf, PROTO_TITLE_MAX_CHARS);
}

/* Description: the "description" annotation (Grafana also "message"), else the labels
 * one per line. */
static json_t *gw_alert_description(json_t *annotations, json_t *labels)
{
	const char *d = json_string_value(json_object_get(annotations, "description"));
	if (!d || !*d)
		d = json_string_value(json_object_get(annotations, "message"));
	if (d && *d)
		return gw_src_clip_bytes(d, PROTO_DESC_MAX);
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	const char *key;
	json_t *v;
	if (!buf)
		return NULL;
	buf[0] = '\0';
	json_object_foreach(labels, key, v) {
		int n = snprintf(buf + used, cap - used, "%s=%s\n", key, json_string_value(v));
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
	json_t *r = gw_src_clip_bytes(buf, PROTO_DESC_MAX);
	free(buf);
	return r;
}

static bool gw_alert_one(json_t *a, size_t idx, bool grafana, json_t *top, json_t *events,
			 char *detail, size_t dlen)
{
	char path[48];
	const char *status, *fp, *starts, *ends, *gen, *dash = NULL, *panel = NULL, *silence = NULL,
				*image = NULL, *vstr = NULL;
	json_t *labels, *ann, *values = NULL;
	snprintf(path, sizeof path, "alerts[%zu]", idx);
	if (!json_is_object(a))
		return gw_src_fail(detail, dlen, path, "must be an object");
	if (!gw_src_opt_string(a, "status", path, 16, &status, detail, dlen) ||
	    !gw_src_opt_string(a, "fingerprint", path, PROTO_SHORT_MAX, &fp, detail, dlen) ||
	    !gw_src_opt_string(a, "startsAt", path, 64, &starts, detail, dlen) ||
	    !gw_src_opt_string(a, "endsAt", path, 64, &ends, detail, dlen) ||
	    !gw_src_opt_string(a, "generatorURL", path, 4096, &gen, detail, dlen) ||
	    !gw_src_string_map(a, "labels", path, &labels, detail, dlen) ||
	    !gw_src_string_map(a, "annotations", path, &ann, detail, dlen))
		return false;
	if (grafana &&
	    (!gw_src_opt_string(a, "dashboardURL", path, 4096, &dash, detail, dlen) ||
	     !gw_src_opt_string(a, "panelURL", path, 4096, &panel, detail, dlen) ||
	     !gw_src_opt_string(a, "silenceURL", path, 4096, &silence, detail, dlen) ||
	     !gw_src_opt_string(a, "imageURL", path, 4096, &image, detail, dlen) ||
	     !gw_src_opt_string(a, "valueString", path, 16384, &vstr, detail, dlen)))
		return false;
	char fpath[80];
	snprintf(fpath, sizeof fpath, "%s.status", path);
	if (!status || (strcmp(status, "firing") && strcmp(status, "resolved")))
		return gw_src_fail(detail, dlen, fpath, "must be firing or resolved");
	snprintf(fpath, sizeof fpath, "%s.fingerprint", path);
	if (!fp || !*fp)
		return gw_src_fail(detail, dlen, fpath, "required");
	snprintf(fpath, sizeof fpath, "%s.labels", path);
	if (!labels || json_object_size(labels) == 0)
		return gw_src_fail(detail, dlen, fpath, "required (an object of strings)");
	snprintf(fpath, sizeof fpath, "%s.startsAt", path);
	if (!starts || !*starts)
		return gw_src_fail(detail, dlen, fpath, "required");
	if (grafana) {
		values = json_object_get(a, "values");
		snprintf(fpath, sizeof fpath, "%s.values", path);
		if (values && !json_is_null(values)) {
			const char *k;
			json_t *v;
			if (!json_is_object(values))
				return gw_src_fail(detail, dlen, fpath, "must be an object of numbers");
			json_object_foreach(values, k, v) {
				if (!json_is_number(v))
					return gw_src_fail(detail, dlen, fpath,
							   "must be an object of numbers");
			}
		}
	}
	if (!strcmp(status, "resolved")) {
		json_array_append_new(events, json_pack("{s:s, s:s}", "a", "resolve", "fp", fp));
		return true;
	}
	const char *summary = json_string_value(json_object_get(ann, "summary"));
	json_t *title = summary && *summary ? gw_src_clip(summary, PROTO_TITLE_MAX_CHARS)
					    : gw_alert_label_title(labels, fp);
	const char *service = json_string_value(json_object_get(labels, "service"));
	if (!service || !*service || strlen(service) > PROTO_SHORT_MAX)
		service = json_string_value(json_object_get(labels, "job"));
	if (service && (!*service || strlen(service) > PROTO_SHORT_MAX))
		service = NULL;
	const char *sev = json_string_value(json_object_get(labels, "severity"));
	if (sev && (!*sev || strlen(sev) > 64))
		sev = NULL;
	json_t *links = json_array();
	gw_src_link(links, "generator", gen, NULL);
	gw_src_link(links, "dashboard", dash, NULL);
	gw_src_link(links, "panel", panel, NULL);
	gw_src_link(links, "silence", silence, NULL);
	gw_src_link(links, "image", image, NULL);
	gw_src_link(links, "runbook", json_string_value(json_object_get(ann, "runbook_url")), NULL);
	json_t *kept = gw_src_labels(labels);
	json_t *details = json_pack("{s:s, s:s, s:s?, s:o, s:O?}", "status", status,
				    "startsAt", starts, "endsAt", ends,
				    "annotations", ann ? json_incref(ann) : json_object(),
				    "truncatedAlerts", json_object_get(top, "truncatedAlerts"));
	/* every label, when some did not fit the incident's labels */
	if (details && kept && json_object_size(kept) != json_object_size(labels))
		json_object_set(details, "labels", labels);
	const char *tops[] = {"receiver", "groupKey", "externalURL", "orgId", "state", NULL};
	for (size_t i = 0; details && tops[i]; i++) {
		json_t *v = json_object_get(top, tops[i]);
		if (v && !json_is_null(v))
			json_object_set(details, tops[i], v);
	}
	if (details && values && !json_is_null(values))
		json_object_set(details, "values", values);
	if (details && vstr)
		json_object_set_new(details, "valueString", json_string(vstr));
	json_t *ev = json_pack("{s:s, s:s, s:o, s:o, s:s?, s:o, s:s?, s:o, s:o}", "a", "trigger",
			       "fp", fp, "title", title, "description",
			       gw_alert_description(ann, labels), "service", service, "labels",
			       kept, "sev", sev, "links", links, "details",
			       details);
	if (!ev)
		return gw_src_fail(detail, dlen, path, "out of memory");
	json_array_append_new(events, ev);
	return true;
}

bool gw_src_alertmanager(json_t *root, bool grafana, json_t *events, char *detail, size_t dlen)
{
	const char *version, *status, *s;
	json_t *m, *alerts = json_object_get(root, "alerts");
	const char *want = grafana ? "1" : "4";
	if (!gw_src_opt_string(root, "version", "", 16, &version, detail, dlen))
		return false;
	if (!version || strcmp(version, want) != 0)
		return gw_src_fail(detail, dlen, "version", "must be \"%s\"", want);
	if (!gw_src_opt_string(root, "status", "", 16, &status, detail, dlen))
		return false;
	if (!status || (strcmp(status, "firing") && strcmp(status, "resolved")))
		return gw_src_fail(detail, dlen, "status", "must be firing or resolved");
	if (!gw_src_opt_string(root, "receiver", "", 1024, &s, detail, dlen) ||
	    !gw_src_opt_string(root, "groupKey", "", 16384, &s, detail, dlen) ||
	    !gw_src_opt_string(root, "externalURL", "", 4096, &s, detail, dlen) ||
	    !gw_src_string_map(root, "groupLabels", "", &m, detail, dlen) ||
	    !gw_src_string_map(root, "commonLabels", "", &m, detail, dlen) ||
	    !gw_src_string_map(root, "commonAnnotations", "", &m, detail, dlen))
		return false;
	json_t *t = json_object_get(root, "truncatedAlerts");
	if (t && !json_is_null(t) && (!json_is_integer(t) || json_integer_value(t) < 0))
		return gw_src_fail(detail, dlen, "truncatedAlerts", "must be an integer >= 0");
	if (grafana) {
		json_t *org = json_object_get(root, "orgId");
		if (org && !json_is_null(org) && !json_is_integer(org))
			return gw_src_fail(detail, dlen, "orgId", "must be an integer");
		if (!gw_src_opt_string(root, "state", "", 64, &s, detail, dlen) ||
		    !gw_src_opt_string(root, "title", "", 16384, &s, detail, dlen) ||
		    !gw_src_opt_string(root, "message", "", 65536, &s, detail, dlen))
			return false;
	}
	if (!json_is_array(alerts) || json_array_size(alerts) == 0)
		return gw_src_fail(detail, dlen, "alerts", "required (a non-empty array)");
	size_t i;
	json_t *a;
	json_array_foreach(alerts, i, a) {
		if (!gw_alert_one(a, i, grafana, root, events, detail, dlen))
			return false;
	}
	return true;
}
