/* test_gw_integrations: the alerting tools' bodies normalised into ALERTS events
 * (Alertmanager, Grafana, PagerDuty), the fields each 400 names, clipping, the delivery
 * key and PagerDuty's error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_auth.h"
#include "gw_integrations.h"
#include "tr_err.h"

#define KEY "0123456789abcdef0123456789abcdef"

static const char am_firing[] =
	"{\"receiver\":\"triage\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
	"\"labels\":{\"alertname\":\"HighLatency\",\"job\":\"api\",\"severity\":\"critical\"},"
	"\"annotations\":{},\"startsAt\":\"2026-12-01T00:00:00Z\",\"endsAt\":"
	"\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"1a2b3c4d5e6f7081\"},"
	"{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Other\"},\"annotations\":"
	"{\"summary\":\"s\"},\"startsAt\":\"2026-12-01T00:00:00Z\",\"endsAt\":"
	"\"2026-12-01T00:01:00Z\",\"generatorURL\":\"http://p/g\",\"fingerprint\":\"ff\"}],"
	"\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":"
	"\"http://am\",\"version\":\"4\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":3}";

static json_t *build_ok(gw_source src, const char *body, gw_auth *auth,
			gw_alerts_request *r)
{
	char detail[256];
	bool ok = gw_integration_build(src, body, strlen(body), "00112233445566778899aabbccddeeff",
				       auth, r, detail, sizeof detail);
	if (!ok)
		fail_msg("refused: %s", detail);
	/* one object per line, each starting with "a" and "fp" */
	json_t *events = json_array();
	for (char *p = r->events; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		assert_int_equal(strncmp(p, "{\"a\":\"", 6), 0);
		assert_non_null(strstr(p, "\",\"fp\":\""));
		json_t *ev = json_loadb(p, len, 0, NULL);
		assert_non_null(ev);
		json_array_append_new(events, ev);
		p += len + (nl ? 1 : 0);
	}
	return events;
}

static void expect_refused(gw_source src, const char *body, gw_auth *auth,
			   const char *field)
{
	char detail[256];
	gw_alerts_request r;
	assert_false(gw_integration_build(src, body, strlen(body), "r", auth, &r, detail,
					  sizeof detail));
	if (strncmp(detail, field, strlen(field)) != 0 || detail[strlen(field)] != ':')
		fail_msg("want %s, got: %s", field, detail);
	assert_null(r.events);
	gw_alerts_request_free(&r);
}

static void test_alertmanager_group(void **state)
{
	(void)state;
	gw_alerts_request r;
	json_t *ev = build_ok(GW_SRC_ALERTMANAGER, am_firing, NULL, &r);
	assert_int_equal(json_array_size(ev), 2);
	json_t *a = json_array_get(ev, 0);
	assert_string_equal(json_string_value(json_object_get(a, "a")), "trigger");
	assert_string_equal(json_string_value(json_object_get(a, "fp")), "1a2b3c4d5e6f7081");
	/* no summary: the alert name and labels */
	assert_string_equal(json_string_value(json_object_get(a, "title")),
			    "HighLatency: job=api, severity=critical");
	assert_string_equal(json_string_value(json_object_get(a, "service")), "api");
	assert_string_equal(json_string_value(json_object_get(a, "sev")), "critical");
	assert_int_equal(json_array_size(json_object_get(a, "links")), 0); /* "" is no link */
	json_t *d = json_object_get(a, "details");
	assert_int_equal(json_integer_value(json_object_get(d, "truncatedAlerts")), 3);
	json_t *b = json_array_get(ev, 1);
	assert_string_equal(json_string_value(json_object_get(b, "a")), "resolve");
	assert_string_equal(r.alerts.source, "alertmanager");
	assert_int_equal(strncmp(r.alerts.delivery_key, "alertmanager:", 13), 0);
	assert_int_equal(strlen(r.alerts.delivery_key), 13 + 64);
	assert_int_equal(r.alerts.delivery_ttl_ms, GW_DELIVERY_TTL_WEBHOOK_MS);
	char first[sizeof r.delivery_key];
	strcpy(first, r.delivery_key);
	json_decref(ev);
	gw_alerts_request_free(&r);
	/* the same bytes give the same delivery key; the same body for Grafana does not */
	ev = build_ok(GW_SRC_ALERTMANAGER, am_firing, NULL, &r);
	assert_string_equal(first, r.delivery_key);
	json_decref(ev);
	gw_alerts_request_free(&r);
}

/* More labels than an incident keeps: 32 in labels, all of them in the details. */
static void test_alertmanager_many_labels(void **state)
{
	(void)state;
	char body[8192];
	size_t used = (size_t)snprintf(body, sizeof body,
		"{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
		"\"startsAt\":\"t\",\"fingerprint\":\"f\",\"labels\":{\"alertname\":\"Many\"");
	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(body + used, sizeof body - used, ",\"l%02d\":\"v\"", i);
	snprintf(body + used, sizeof body - used, "}}]}");
	gw_alerts_request r;
	json_t *ev = build_ok(GW_SRC_ALERTMANAGER, body, NULL, &r);
	json_t *a = json_array_get(ev, 0);
	assert_int_equal(json_object_size(json_object_get(a, "labels")), PROTO_LABELS_MAX);
	json_t *all = json_object_get(json_object_get(a, "details"), "labels");
	assert_int_equal(json_object_size(all), 41);
	json_decref(ev);
	gw_alerts_request_free(&r);
	/* when they all fit, the details do not repeat them */
	ev = build_ok(GW_SRC_ALERTMANAGER, am_firing, NULL, &r);
	assert_null(json_object_get(json_object_get(json_array_get(ev, 0), "details"), "labels"));
	json_decref(ev);
	gw_alerts_request_free(&r);
}

static void test_alertmanager_refusals(void **state)
{
	(void)state;
	expect_refused(GW_SRC_ALERTMANAGER, "{\"version\":\"3\"}", NULL, "version");
	expect_refused(GW_SRC_ALERTMANAGER, "{\"version\":\"4\",\"status\":\"x\"}", NULL, "status");
	expect_refused(GW_SRC_ALERTMANAGER, "{\"version\":\"4\",\"status\":\"firing\"}", NULL,
		       "alerts");
	expect_refused(GW_SRC_ALERTMANAGER,
		       "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":"
		       "\"firing\",\"labels\":{\"a\":\"b\"},\"startsAt\":\"t\"}]}",
		       NULL, "alerts[0].fingerprint");
	expect_refused(GW_SRC_ALERTMANAGER,
		       "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":"
		       "\"firing\",\"labels\":{\"a\":\"b\"},\"startsAt\":\"t\",\"fingerprint\":"
		       "\"f\",\"annotations\":{\"x\":null}}]}",
		       NULL, "alerts[0].annotations.x");
	expect_refused(GW_SRC_ALERTMANAGER, "[1]", NULL, "body");
	expect_refused(GW_SRC_GRAFANA, am_firing, NULL, "version"); /* Grafana's is "1" */
}

static void test_pagerduty(void **state)
{
	(void)state;
	gw_auth *auth;
	char err[200];
	assert_int_equal(gw_auth_create(KEY ",short-key", true, 5000, &auth, err, sizeof err), TR_OK);
	gw_alerts_request r;
	json_t *ev = build_ok(GW_SRC_PAGERDUTY,
			      "{\"routing_key\":\"" KEY "\",\"event_action\":\"trigger\","
			      "\"payload\":{\"summary\":\"Checkout down\",\"source\":\"web-1\","
			      "\"severity\":\"critical\",\"custom_details\":{\"a\":1}}}",
			      auth, &r);
	json_t *e = json_array_get(ev, 0);
	/* no dedup_key: generated from the request id */
	assert_string_equal(json_string_value(json_object_get(e, "fp")),
			    "triage-00112233445566778899aabbccddeeff");
	assert_string_equal(json_string_value(json_object_get(e, "sev")), "critical");
	assert_string_equal(json_string_value(json_object_get(e, "service")), "web-1");
	assert_string_equal(json_string_value(json_object_get(e, "description")),
			    "Checkout down\n\nDetails: {\"a\":1}");
	assert_int_equal(r.alerts.delivery_ttl_ms, GW_DELIVERY_TTL_PD_MS);
	json_decref(ev);
	gw_alerts_request_free(&r);
	/* a configured key that is not 32 characters is no routing key */
	expect_refused(GW_SRC_PAGERDUTY,
		       "{\"routing_key\":\"short-key\",\"event_action\":\"resolve\","
		       "\"dedup_key\":\"k\"}",
		       auth, "routing_key");
	expect_refused(GW_SRC_PAGERDUTY,
		       "{\"routing_key\":\"" KEY "\",\"event_action\":\"acknowledge\"}", auth,
		       "dedup_key");
	expect_refused(GW_SRC_PAGERDUTY,
		       "{\"routing_key\":\"" KEY "\",\"event_action\":\"trigger\",\"payload\":"
		       "{\"summary\":\"s\",\"source\":\"x\",\"severity\":\"high\"}}",
		       auth, "payload.severity");
	char *pd = gw_pd_invalid_json("payload.summary: required");
	assert_string_equal(pd, "{\"status\":\"invalid event\",\"message\":\"Event object is "
				"invalid\",\"errors\":[\"payload.summary: required\"]}");
	free(pd);
	gw_auth_free(auth);
}

static void test_clip(void **state)
{
	(void)state;
	json_t *s = gw_src_clip("abcdef", 6);
	assert_string_equal(json_string_value(s), "abcdef");
	json_decref(s);
	s = gw_src_clip("abcdefg", 6);
	assert_string_equal(json_string_value(s), "abc...");
	json_decref(s);
	s = gw_src_clip("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4); /* characters, not bytes */
	assert_string_equal(json_string_value(s), "\xc3\xa9...");
	json_decref(s);
	s = gw_src_clip_bytes("\xc3\xa9\xc3\xa9\xc3\xa9", 5);
	assert_string_equal(json_string_value(s), "\xc3\xa9...");
	json_decref(s);
	s = gw_src_clip_bytes("\xc3\xa9\xc3\xa9\xc3\xa9", 4); /* never half a character */
	assert_string_equal(json_string_value(s), "...");
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alertmanager_group),
		cmocka_unit_test(test_alertmanager_many_labels),
		cmocka_unit_test(test_alertmanager_refusals),
		cmocka_unit_test(test_pagerduty),
		cmocka_unit_test(test_clip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
