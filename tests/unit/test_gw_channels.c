/* test_gw_channels: channel routes and the checks of a channel body
 * (gateway/gw_channels.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gw_channels.h"
#include "gw_routes.h"

static bool check(const char *body, bool create, char *detail, proto_kv *out, size_t *n,
		  gw_channel_body *b)
{
	memset(b, 0, sizeof *b);
	*n = 0;
	return gw_channel_validate(body, strlen(body), create, b, out, n, detail, GW_DETAIL_MAX);
}

static void test_valid(void **state)
{
	(void)state;
	gw_channel_body b;
	proto_kv out[PROTO_PARAMS_MAX];
	size_t n;
	char d[GW_DETAIL_MAX];
	assert_true(check("{\"name\":\"ops\",\"kind\":\"webhook\",\"url\":\"https://h/x\","
			  "\"secret\":\"k\",\"categories\":[\"storage\",\"database\"],"
			  "\"services\":[\"db\",\"api\"],\"events\":[\"resolved\"],"
			  "\"hold_down_s\":30,\"enabled\":false,\"min_severity\":null}",
			  true, d, out, &n, &b));
	assert_int_equal(n, 10);
	assert_string_equal(proto_kv_get(out, n, "categories"), "storage,database");
	assert_string_equal(proto_kv_get(out, n, "services"), "db,api");
	assert_string_equal(proto_kv_get(out, n, "hold_down_s"), "30");
	assert_string_equal(proto_kv_get(out, n, "enabled"), "false");
	assert_string_equal(proto_kv_get(out, n, "min_severity"), "");
	gw_channel_body_free(&b);
	assert_true(check("{\"enabled\":true}", false, d, out, &n, &b));
	gw_channel_body_free(&b);
}

static void test_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		bool create;
		const char *field;
	} cases[] = {
		{"{\"name\":\"a\",\"kind\":\"webhook\",\"url\":\"http://h/\"}", true, "secret"},
		{"{\"name\":\"a\",\"kind\":\"slack\",\"url\":\"http://h/\",\"secret\":\"k\"}", true,
		 "secret"},
		{"{\"name\":\"a\",\"kind\":\"slack\"}", true, "required"},
		{"{\"url\":\"http:// h/\"}", false, "url"},
		{"{\"url\":\"http:///x\"}", false, "url"},
		{"{\"services\":[\"a,b\"]}", false, "services"},
		{"{\"categories\":[\"weather\"]}", false, "categories"},
		{"{\"events\":[\"triaged\",7]}", false, "events"},
		{"{\"hold_down_s\":86401}", false, "hold_down_s"},
		{"{\"hold_down_s\":1.5}", false, "hold_down_s"},
		{"{\"name\":\"\"}", false, "name"},
		{"{\"enabled\":\"yes\"}", false, "enabled"},
		{"{}", false, "at least one"},
		{"[]", false, "object"},
		{"{\"name\":\"a\",\"name\":\"b\"}", false, "object"},
		{"{\"extra\":1}", false, "extra"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gw_channel_body b;
		proto_kv out[PROTO_PARAMS_MAX];
		size_t n;
		char d[GW_DETAIL_MAX] = "";
		assert_false(check(cases[i].body, cases[i].create, d, out, &n, &b));
		if (!strstr(d, cases[i].field))
			fail_msg("%s: detail '%s' does not name %s", cases[i].body, d, cases[i].field);
		gw_channel_body_free(&b);
	}
}

static void test_routes(void **state)
{
	(void)state;
	gw_match m;
	assert_true(gw_route_match("/channels", &m));
	assert_int_equal(m.id, GW_R_CHANNELS);
	assert_true(m.needs_key);
	assert_true(gw_route_match("/channels/12", &m));
	assert_int_equal(m.id, GW_R_CHANNEL);
	assert_int_equal(m.channel_id, 12);
	assert_int_equal(m.allowed, GW_M_PATCH | GW_M_DELETE);
	assert_true(gw_route_match("/channels/12/test", &m));
	assert_int_equal(m.id, GW_R_CHANNEL_TEST);
	assert_false(gw_route_match("/channels/0", &m));
	assert_false(gw_route_match("/channels/x/test", &m));
	assert_false(gw_route_match("/channels/3/other", &m));
	assert_true(gw_route_match("/incidents/5/notifications", &m));
	assert_int_equal(m.id, GW_R_NOTIFICATIONS);
	assert_int_equal(m.allowed, GW_M_GET);
	assert_true(gw_route_takes_body(&(gw_match){.id = GW_R_CHANNELS}, GW_M_POST));
	assert_int_equal(gw_reply_status(&(gw_match){.id = GW_R_CHANNELS}, GW_M_POST, 0), 201);
	assert_int_equal(gw_reply_status(&(gw_match){.id = GW_R_CHANNEL_TEST}, GW_M_POST, 0), 202);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_invalid),
					   cmocka_unit_test(test_routes)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
