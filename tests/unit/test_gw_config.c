/* test_gw_config: the gateway's configuration table (defaults, bounds) and address
 * parsing with loopback detection, which decides whether the development key is
 * allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "gw_config.h"
#include "proto.h"
#include "tr_err.h"

static bool loop_of(const char *host)
{
	struct sockaddr_storage a;
	socklen_t len;
	bool loopback = false;
	assert_true(gw_addr_parse(host, 4000, &a, &len, &loopback));
	return loopback;
}

static void test_addr_parse(void **state)
{
	(void)state;
	struct sockaddr_storage a;
	socklen_t len;
	bool lb;
	assert_true(loop_of("127.0.0.1"));
	assert_true(loop_of("127.1.2.3"));
	assert_true(loop_of("localhost"));
	assert_true(loop_of("::1"));
	assert_true(loop_of("::ffff:127.0.0.1"));
	assert_false(loop_of("0.0.0.0"));
	assert_false(loop_of("10.0.0.5"));
	assert_false(loop_of("128.0.0.1"));
	assert_false(loop_of("::"));
	assert_false(loop_of("::ffff:10.0.0.1"));
	assert_true(gw_addr_parse("127.0.0.1", 4000, &a, &len, &lb));
	assert_int_equal(a.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 4000);
	assert_true(gw_addr_parse("::1", 80, &a, &len, &lb));
	assert_int_equal(a.ss_family, AF_INET6);
	assert_false(gw_addr_parse("example.com", 4000, &a, &len, &lb));
	assert_false(gw_addr_parse("", 4000, &a, &len, &lb));
	assert_false(gw_addr_parse("127.0.0.1:80", 4000, &a, &len, &lb));
	assert_false(gw_addr_parse("127.0.0.1", 70000, &a, &len, &lb));
}

static void clear_env(void)
{
	for (size_t i = 0; i < gw_config_nitems; i++)
		unsetenv(gw_config_items[i].env);
}

static void test_defaults(void **state)
{
	(void)state;
	gw_config cfg;
	char err[256];
	clear_env();
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_OK);
	assert_string_equal(cfg.http_addr, "127.0.0.1");
	assert_int_equal(cfg.http_port, 4000);
	assert_string_equal(cfg.api_keys, "");
	assert_string_equal(cfg.store_url, PROTO_DEFAULT_STORE_URL);
	assert_string_equal(cfg.events_url, PROTO_DEFAULT_EVENTS_URL);
	assert_int_equal(cfg.store_timeout_ms, 3000);
	assert_int_equal(cfg.http_threads, 2);
	assert_int_equal(cfg.max_body, 65536);
	assert_int_equal(cfg.sse_heartbeat_ms, 15000);
	assert_int_equal(cfg.sse_max_streams, 256);
	assert_true(cfg.loopback);
	assert_true(strlen(cfg.web_dir) > 0);
	gw_config_free(&cfg);
}

static void test_invalid(void **state)
{
	(void)state;
	gw_config cfg;
	char err[256];
	clear_env();
	setenv("TRIAGE_HTTP_ADDR", "not-an-address", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_HTTP_ADDR"));
	assert_null(cfg.http_addr); /* nothing left allocated */
	clear_env();
	setenv("TRIAGE_HTTP_PORT", "65536", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_HTTP_PORT"));
	clear_env();
	setenv("TRIAGE_HTTP_THREADS", "0", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_ERR_INVALID);
	clear_env();
	setenv("TRIAGE_LOG_LEVEL", "loud", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_ERR_INVALID);
	clear_env();
	setenv("TRIAGE_WEB_DIR", "", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_ERR_INVALID);
	clear_env();
	setenv("TRIAGE_HTTP_ADDR", "0.0.0.0", 1);
	setenv("TRIAGE_API_KEYS", "k1,k2", 1);
	assert_int_equal(gw_config_load(&cfg, err, sizeof err), TR_OK);
	assert_false(cfg.loopback);
	assert_string_equal(cfg.api_keys, "k1,k2");
	gw_config_free(&cfg);
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
