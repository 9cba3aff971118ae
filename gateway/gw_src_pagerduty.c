/* gw_src_pagerduty: one event of PagerDuty's Events API v2 (POST /v2/enqueue). The
 * routing_key is the credential: a configured API key of 32 characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_integrations.h"
#include "tr_time.h"
#include "tr_utf8.h"

static bool gw_pd_chars(const char *s, size_t min, size_t max)
{
	size_t n = 0;
	if (!tr_utf8_valid(s, strlen(s), &n, NULL))
		return false;
	return n >= min && n <= max;
}

/* links: [{href, text}], images: [{src, href, alt}] */
static bool gw_pd_list(json_t *root, const char *name, const char *req, const char *const *opt,
		       json_t *links, char *detail, size_t dlen)
{
	json_t *list = json_object_get(root, name);
	size_t i;
	json_t *it;
	if (!list || json_is_null(list))
		return true;
	if (!json_is_array(list))
		return gw_src_fail(detail, dlen, name, "must be an array");
	if (json_array_size(list) > 64)
		return gw_src_fail(detail, dlen, name, "at most 64 entries");
	json_array_foreach(list, i, it) {
		char path[48];
		const char *v, *o;
		snprintf(path, sizeof path, "%s[%zu]", name, i);
		if (!json_is_object(it))
			return gw_src_fail(detail, dlen, path, "must be an object");
		if (!gw_src_opt_string(it, req, path, 4096, &v, detail, dlen))
			return false;
		if (!v || !*v) {
			char p2[64];
			snprintf(p2, sizeof p2, "%s.%s", path, req);
			return gw_src_fail(detail, dlen, p2, "required");
		}
		for (size_t k = 0; opt[k]; k++)
			if (!gw_src_opt_string(it, opt[k], path, 4096, &o, detail, dlen))
				return false;
		const char *text = json_string_value(json_object_get(it, opt[0]));
		if (!strcmp(name, "images")) {
			text = json_string_value(json_object_get(it, "alt"));
			gw_src_link(links, "image", v, text);
		} else {
			gw_src_link(links, "link", v, text);
		}
	}
	return true;
}

bool gw_src_pagerduty(json_t *root, const char *request_id, gw_auth *auth, json_t *events,
		      char *detail, size_t dlen)
{
	const char *key, *action, *dedup, *client, *client_url;
	char generated[PROTO_SHORT_MAX + 1];
	if (!gw_src_opt_string(root, "routing_key", "", 255, &key, detail, dlen))
		return false;
	if (!key || !*key)
		return gw_src_fail(detail, dlen, "routing_key", "required");
	/* length first (a public rule), then the constant-time key check: a configured key
	 * (or a store key the gateway has cached) with at least the reporter role */
	gw_principal who;
	if (strlen(key) != GW_PD_ROUTING_KEY_LEN || !auth ||
	    gw_auth_check(auth, key, strlen(key), tr_mono_ms(), &who) != GW_AUTH_OK ||
	    !gw_role_allows(who.role, GW_ROLE_REPORTER))
		return gw_src_fail(detail, dlen, "routing_key", "not a known integration key");
	if (!gw_src_opt_string(root, "event_action", "", 32, &action, detail, dlen))
		return false;
	if (!action || (strcmp(action, "trigger") && strcmp(action, "acknowledge") &&
			strcmp(action, "resolve")))
		return gw_src_fail(detail, dlen, "event_action",
				   "must be trigger, acknowledge or resolve");
	if (!gw_src_opt_string(root, "dedup_key", "", 4 * PROTO_SHORT_MAX, &dedup, detail, dlen))
		return false;
	if (dedup && !gw_pd_chars(dedup, 1, PROTO_SHORT_MAX))
		return gw_src_fail(detail, dlen, "dedup_key", "must be 1-255 characters");
	if (strcmp(action, "trigger") != 0) {
		if (!dedup)
			return gw_src_fail(detail, dlen, "dedup_key", "required for %s", action);
		json_array_append_new(events, json_pack("{s:s, s:s}", "a", action, "fp", dedup));
		return true;
	}
	if (!dedup) {
		snprintf(generated, sizeof generated, "triage-%s", request_id);
		dedup = generated;
	}
	json_t *p = json_object_get(root, "payload");
	if (!json_is_object(p))
		return gw_src_fail(detail, dlen, "payload", "required for trigger (an object)");
	const char *summary, *source, *sev, *ts, *component, *group, *klass;
	if (!gw_src_opt_string(p, "summary", "payload", 4 * GW_PD_SUMMARY_MAX_CHARS, &summary,
			       detail, dlen) ||
	    !gw_src_opt_string(p, "source", "payload", PROTO_SHORT_MAX, &source, detail, dlen) ||
	    !gw_src_opt_string(p, "severity", "payload", 16, &sev, detail, dlen) ||
	    !gw_src_opt_string(p, "timestamp", "payload", 64, &ts, detail, dlen) ||
	    !gw_src_opt_string(p, "component", "payload", PROTO_SHORT_MAX, &component, detail,
			       dlen) ||
	    !gw_src_opt_string(p, "group", "payload", PROTO_SHORT_MAX, &group, detail, dlen) ||
	    !gw_src_opt_string(p, "class", "payload", PROTO_SHORT_MAX, &klass, detail, dlen) ||
	    !gw_src_opt_string(root, "client", "", 1024, &client, detail, dlen) ||
	    !gw_src_opt_string(root, "client_url", "", 4096, &client_url, detail, dlen))
		return false;
	if (!summary || !gw_pd_chars(summary, 1, GW_PD_SUMMARY_MAX_CHARS))
		return gw_src_fail(detail, dlen, "payload.summary", "required, 1-%d characters",
				   GW_PD_SUMMARY_MAX_CHARS);
	if (!source || !*source)
		return gw_src_fail(detail, dlen, "payload.source", "required");
	if (!sev || (strcmp(sev, "critical") && strcmp(sev, "error") && strcmp(sev, "warning") &&
		     strcmp(sev, "info")))
		return gw_src_fail(detail, dlen, "payload.severity",
				   "must be critical, error, warning or info");
	json_t *links = json_array();
	static const char *const link_opt[] = {"text", NULL};
	static const char *const image_opt[] = {"href", "alt", NULL};
	if (!gw_pd_list(root, "links", "href", link_opt, links, detail, dlen) ||
	    !gw_pd_list(root, "images", "src", image_opt, links, detail, dlen)) {
		json_decref(links);
		return false;
	}
	gw_src_link(links, "client", client_url, client);
	json_t *labels = json_pack("{s:s, s:s}", "severity", sev, "source", source);
	json_t *details = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "source", source,
				    "severity", sev, "timestamp", ts, "component", component,
				    "group", group, "class", klass, "client", client);
	const char *opt[][2] = {{"component", component}, {"group", group}, {"class", klass}};
	for (size_t i = 0; labels && i < 3; i++)
		if (opt[i][1] && *opt[i][1])
			json_object_set_new(labels, opt[i][0], json_string(opt[i][1]));
	json_t *cd = json_object_get(p, "custom_details");
	if (details && cd && !json_is_null(cd))
		json_object_set(details, "custom_details", cd);
	/* the description gives the triage the whole summary and the custom details */
	char *cdtext = cd && !json_is_null(cd) ? json_dumps(cd, JSON_COMPACT) : NULL;
	size_t dl = strlen(summary) + (cdtext ? strlen(cdtext) : 0) + 16;
	char *desc = malloc(dl);
	if (desc)
		snprintf(desc, dl, "%s%s%s", summary, cdtext ? "\n\nDetails: " : "",
			 cdtext ? cdtext : "");
	free(cdtext);
	json_t *ev = desc ? json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:s, s:o, s:o}", "a",
				      "trigger", "fp", dedup, "title",
				      gw_src_clip(summary, PROTO_TITLE_MAX_CHARS), "description",
				      gw_src_clip_bytes(desc, PROTO_DESC_MAX), "service",
				      component && *component ? component : source, "labels",
				      labels, "sev", sev, "links", links, "details", details)
			  : NULL;
	free(desc);
	if (!ev)
		return gw_src_fail(detail, dlen, "payload", "out of memory");
	json_array_append_new(events, ev);
	return true;
}
