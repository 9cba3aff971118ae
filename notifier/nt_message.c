/* nt_message: webhook and Slack-compatible bodies, built with jansson. */
#include "nt_message.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *nt_str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : dflt;
}

/* Slack mrkdwn: &, < and > must be escaped; everything else is literal. Cut to cap on
 * a character boundary (the input is valid UTF-8: it came through jansson). */
static void nt_escape(const char *s, char *out, size_t cap)
{
	size_t used = 0, boundary = 0;
	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			boundary = used;
		if (used + 6 >= cap) {
			used = boundary;
			break;
		}
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		if (rep) {
			memcpy(out + used, rep, strlen(rep));
			used += strlen(rep);
		} else {
			out[used++] = *s;
		}
	}
	out[used] = '\0';
}

static void nt_upper(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
	out[i] = '\0';
}

static json_t *nt_slack(const nt_delivery *d, json_t *inc, const char *dashboard_url)
{
	/* sized for the bounds of proto.h escaped five-fold: nothing is cut in practice */
	char title[4200], summary[3200], sev[16], head[160], link[1200] = "", text[9000];
	char context[2000];
	if (strcmp(d->event, "test") == 0) {
		snprintf(text, sizeof text, "Test notification from triage (channel %s, delivery %lld).",
			 d->channel, (long long)d->delivery_id);
		return json_pack("{s:s}", "text", text);
	}
	nt_escape(nt_str(inc, "title", "(untitled)"), title, sizeof title);
	nt_escape(nt_str(json_object_get(inc, "triage"), "summary", ""), summary, sizeof summary);
	nt_upper(nt_str(inc, "severity", "untriaged"), sev, sizeof sev);
	if (strcmp(d->event, "triaged") == 0)
		snprintf(head, sizeof head, "[%s] Incident #%lld triaged", sev,
			 (long long)d->incident_id);
	else if (strcmp(d->event, "severity_raised") == 0)
		snprintf(head, sizeof head, "[%s] Incident #%lld: severity raised to %s", sev,
			 (long long)d->incident_id, sev);
	else
		snprintf(head, sizeof head, "[RESOLVED] Incident #%lld resolved (was %s)",
			 (long long)d->incident_id, sev);
	if (*dashboard_url)
		snprintf(link, sizeof link, "%s/#/incidents/%lld", dashboard_url,
			 (long long)d->incident_id);
	if (*link)
		snprintf(text, sizeof text, "*%s*: <%s|%s>%s%s", head, link, title,
			 *summary ? "\n" : "", summary);
	else
		snprintf(text, sizeof text, "*%s*: %s%s%s", head, title, *summary ? "\n" : "",
			 summary);
	char svc[1300], cat[64];
	nt_escape(nt_str(inc, "service", "-"), svc, sizeof svc);
	nt_escape(nt_str(inc, "category", "-"), cat, sizeof cat);
	snprintf(context, sizeof context, "service: %s | category: %s | state: %s | delivery %lld",
		 svc, cat, nt_str(inc, "state", "-"), (long long)d->delivery_id);
	return json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]}", "text", text,
			 "blocks", "type", "section", "text", "type", "mrkdwn", "text", text,
			 "type", "context", "elements", "type", "mrkdwn", "text", context);
}

char *nt_message_body(const nt_delivery *d, const char *dashboard_url)
{
	char *out = NULL;
	json_t *msg = NULL;
	json_t *payload = json_loads(d->payload, JSON_REJECT_DUPLICATES, NULL);
	if (!payload || !json_is_object(payload))
		goto out;
	bool test = strcmp(d->event, "test") == 0;
	if (strcmp(d->kind, "slack") == 0) {
		msg = nt_slack(d, payload, dashboard_url);
	} else {
		msg = json_pack("{s:I, s:I, s:s, s:s, s:{s:I, s:s}}", "event_id",
				(json_int_t)d->event_id, "delivery_id", (json_int_t)d->delivery_id,
				"event", d->event, "at", d->at, "channel", "id",
				(json_int_t)d->channel_id, "name", d->channel);
		if (msg && test)
			json_object_set(msg, "message", json_object_get(payload, "message"));
		else if (msg)
			json_object_set(msg, "incident", payload);
	}
	if (msg)
		out = json_dumps(msg, JSON_COMPACT);
out:
	json_decref(msg);
	json_decref(payload);
	return out;
}
