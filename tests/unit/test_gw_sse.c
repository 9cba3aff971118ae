/* test_gw_sse: the exact text of the event-stream frames of docs/API.md (hello,
 * incident with id <epoch>-<seq>, resync, heartbeat) and timestamp formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_sse.h"

static void test_hello_resync_heartbeat(void **state)
{
	(void)state;
	char *s = gw_sse_frame_hello("gw-1:4000");
	assert_string_equal(s, "event: hello\ndata: {\"gateway\":\"gw-1:4000\"}\n\n");
	free(s);
	s = gw_sse_frame_hello("a\"b\nc"); /* escaped, stays on one data line */
	assert_string_equal(s, "event: hello\ndata: {\"gateway\":\"a\\\"b\\nc\"}\n\n");
	free(s);
	s = gw_sse_frame_resync("gap");
	assert_string_equal(s, "event: resync\ndata: {\"reason\":\"gap\"}\n\n");
	free(s);
	assert_string_equal(GW_SSE_HEARTBEAT, ": heartbeat\n\n");
}

static void test_incident_frame(void **state)
{
	(void)state;
	proto_event ev = {
		.epoch = 1732539000123,
		.seq = 17,
		.incident_id = 42,
		.version = 3,
		.kind = "triaged",
		.status = "triaged",
		.state = "open",
		.severity = "high",
		.category = "database",
		.at_ms = 1795611600123, /* 2026-11-25T13:00:00.123Z */
	};
	char *s = gw_sse_frame_incident(&ev);
	assert_string_equal(s, "id: 1732539000123-17\nevent: incident\ndata: {\"id\":42,\"version\":3,"
			       "\"kind\":\"triaged\",\"status\":\"triaged\",\"state\":\"open\","
			       "\"severity\":\"high\",\"category\":\"database\","
			       "\"at\":\"2026-11-25T13:00:00.123Z\"}\n\n");
	free(s);
	/* no triage yet: severity and category are null; one line of data whatever the text */
	ev.severity = "";
	ev.category = "";
	ev.kind = "created\nevent: evil";
	s = gw_sse_frame_incident(&ev);
	assert_non_null(strstr(s, "\"severity\":null,\"category\":null"));
	assert_non_null(strstr(s, "created\\nevent: evil"));
	int newlines = 0;
	for (char *p = s; *p; p++)
		newlines += *p == '\n';
	assert_int_equal(newlines, 4); /* id, event, data, blank */
	free(s);
	/* text that is not UTF-8 cannot become JSON: no frame (the hub sends a resync) */
	ev.kind = "bad\xff";
	assert_null(gw_sse_frame_incident(&ev));
}

static void test_iso8601(void **state)
{
	(void)state;
	char out[32];
	gw_iso8601_ms(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	gw_iso8601_ms(1795611600123, out);
	assert_string_equal(out, "2026-11-25T13:00:00.123Z");
	gw_iso8601_ms(1795611600999, out);
	assert_string_equal(out, "2026-11-25T13:00:00.999Z");
	gw_iso8601_ms(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_resync_heartbeat),
		cmocka_unit_test(test_incident_frame),
		cmocka_unit_test(test_iso8601),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
