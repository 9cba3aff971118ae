/* test_nt_message: the webhook body carries the event id, the delivery id and the
 * incident; the Slack-compatible body has text and blocks with mrkdwn escaped
 * (notifier/nt_message.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "nt_message.h"

static const char incident[] =
	"{\"id\":42,\"title\":\"Disk <Full> & more\",\"severity\":\"high\",\"category\":\"storage\","
	"\"service\":\"db\",\"state\":\"open\",\"triage\":{\"summary\":\"The disk is full.\"}}";

static nt_delivery delivery(const char *kind, const char *event, const char *payload)
{
	nt_delivery d = {.delivery_id = 7, .event_id = 3, .incident_id = 42, .channel_id = 2,
			 .event = event, .at = "2026-12-01T00:00:00.000Z", .channel = "ops",
			 .kind = kind, .payload = payload};
	return d;
}

static void test_webhook(void **state)
{
	(void)state;
	nt_delivery d = delivery("webhook", "triaged", incident);
	char *body = nt_message_body(&d, "");
	assert_non_null(body);
	json_t *j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "event_id")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "delivery_id")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "triaged");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "incident"), "id")), 42);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "channel"), "name")),
			    "ops");
	json_decref(j);
	free(body);
}

static void test_slack(void **state)
{
	(void)state;
	nt_delivery d = delivery("slack", "severity_raised", incident);
	char *body = nt_message_body(&d, "http://dash:4000");
	assert_non_null(body);
	json_t *j = json_loads(body, 0, NULL);
	const char *text = json_string_value(json_object_get(j, "text"));
	assert_non_null(strstr(text, "Disk &lt;Full&gt; &amp; more"));
	assert_non_null(strstr(text, "severity raised to HIGH"));
	assert_non_null(strstr(text, "<http://dash:4000/#/incidents/42|"));
	assert_non_null(strstr(text, "The disk is full."));
	json_t *blocks = json_object_get(j, "blocks");
	assert_int_equal(json_array_size(blocks), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")),
			    "section");
	json_decref(j);
	free(body);
}

static void test_test_and_bad_payload(void **state)
{
	(void)state;
	nt_delivery d = delivery("webhook", "test", "{\"message\":\"hello\"}");
	char *body = nt_message_body(&d, "");
	assert_non_null(strstr(body, "\"message\":\"hello\""));
	assert_null(strstr(body, "incident"));
	free(body);
	d = delivery("slack", "resolved", "[1,2]");
	assert_null(nt_message_body(&d, ""));
	d = delivery("webhook", "resolved", "{broken");
	assert_null(nt_message_body(&d, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_webhook), cmocka_unit_test(test_slack),
					   cmocka_unit_test(test_test_and_bad_payload)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
