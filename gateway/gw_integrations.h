/* gw_integrations: the routes for alerting tools (docs/API.md, "Integrations"):
 * Prometheus Alertmanager's and Grafana's webhooks and PagerDuty's Events API v2. Each
 * body is parsed and checked here (a 400 names the field, e.g. "alerts[2].fingerprint:
 * required") and normalised into one PROTO_ALERTS request: a JSON array of events,
 * each an object
 *   {"a": "trigger"|"acknowledge"|"resolve", "fp": fingerprint (the dedup key),
 *    "title", "description", "service" (or null), "labels" {..}, "sev" (the source's
 *    severity, a hint, or null), "links" [{"rel", "href", "text"}], "details" {..}}
 * (acknowledge/resolve carry only "a" and "fp"). Unknown fields of the tools' bodies are
 * ignored: those schemas belong to the tools and grow. Pure functions, no I/O. */
#ifndef GW_INTEGRATIONS_H
#define GW_INTEGRATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gw_auth.h"
#include "proto.h"

#define GW_INTEGRATION_MAX_BODY (512 * 1024) /* PagerDuty's limit, for every source here */
#define GW_PD_SUMMARY_MAX_CHARS 1024
#define GW_DETAILS_MAX (64 * 1024) /* an event's details kept with the incident */
#define GW_PD_ROUTING_KEY_LEN 32
#define GW_DELIVERY_TTL_WEBHOOK_MS (10 * 60 * 1000L) /* Alertmanager, Grafana */
#define GW_DELIVERY_TTL_PD_MS (60 * 1000L)           /* PagerDuty clients retry quickly */

typedef enum { GW_SRC_ALERTMANAGER = 1, GW_SRC_GRAFANA, GW_SRC_PAGERDUTY } gw_source;

/* An ALERTS request being built: msg's strings point into the storage here. */
typedef struct {
	proto_alerts alerts;
	char *events; /* malloc'd, one JSON object per line */
	char delivery_key[PROTO_SHORT_MAX + 1];
} gw_alerts_request;

/* Validates body for source and fills out (free with gw_alerts_request_free either
 * way). request_id names the delivery; for PagerDuty, auth checks routing_key (a
 * configured API key of GW_PD_ROUTING_KEY_LEN characters) and a trigger without
 * dedup_key gets "triage-<request_id>". False with detail on invalid input. */
bool gw_integration_build(gw_source source, const char *body, size_t len,
			  const char *request_id, gw_auth *auth, gw_alerts_request *out,
			  char *detail, size_t dlen);
void gw_alerts_request_free(gw_alerts_request *r);

/* The source's name on the wire and in the database. */
const char *gw_source_name(gw_source s);

/* PagerDuty's answer to an invalid event: {"status":"invalid event","message":"Event
 * object is invalid","errors":[detail]}, malloc'd. */
char *gw_pd_invalid_json(const char *detail);

/* ---- shared by the parsers (gw_src_*.c) ---- */

/* Fails with detail "<path>: <what>" (printf-style what). Returns false. */
bool gw_src_fail(char *detail, size_t dlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An optional string member: absent or null gives *out NULL; "" is kept as "". */
bool gw_src_opt_string(json_t *obj, const char *name, const char *path, size_t max_bytes,
		       const char **out, char *detail, size_t dlen);

/* An optional object of strings (absent, null or {} all mean empty). */
bool gw_src_string_map(json_t *obj, const char *name, const char *path, json_t **out,
		       char *detail, size_t dlen);

/* Text cut to at most max_chars characters (with "..." when cut), a new json string. */
json_t *gw_src_clip(const char *s, size_t max_chars);

/* Text cut to at most max_bytes bytes on a character boundary ("..." when cut). */
json_t *gw_src_clip_bytes(const char *s, size_t max_bytes);

/* The labels the incident keeps: the first PROTO_LABELS_MAX entries that fit the
 * proto bounds (all of them stay in the event's details). A new object. */
json_t *gw_src_labels(json_t *labels);

/* The parsers: each appends its events to events (a JSON array). */
bool gw_src_alertmanager(json_t *root, bool grafana, json_t *events, char *detail, size_t dlen);
bool gw_src_pagerduty(json_t *root, const char *request_id, gw_auth *auth, json_t *events,
		      char *detail, size_t dlen);

/* Appends {"rel": rel, "href": href, "text": text?} to links when href is not empty. */
void gw_src_link(json_t *links, const char *rel, const char *href, const char *text);

#endif
