/* test_config: the table-driven TRIAGE_* configuration loader (common/tr_config):
 * defaults, environment overrides, bounds, words, choices, messages, no leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_config.h"
#include "tr_err.h"

typedef struct {
	char *name;
	char *empty;
	long port;
	long workers;
	bool tls;
	bool verbose;
	char *backend;
} test_cfg;

static const tr_cfg_item items[] = {
	{"TRIAGE_T_NAME", TR_CFG_STR, "gateway-1", offsetof(test_cfg, name), 0, 0, NULL, "name"},
	{"TRIAGE_T_EMPTY", TR_CFG_STR, NULL, offsetof(test_cfg, empty), 0, 0, NULL, "empty"},
	{"TRIAGE_T_PORT", TR_CFG_INT, "4000", offsetof(test_cfg, port), 1, 65535, NULL, "port"},
	{"TRIAGE_T_WORKERS", TR_CFG_INT, "-2", offsetof(test_cfg, workers), -5, 5, NULL, "workers"},
	{"TRIAGE_T_TLS", TR_CFG_BOOL, "no", offsetof(test_cfg, tls), 0, 0, NULL, "tls"},
	{"TRIAGE_T_VERBOSE", TR_CFG_BOOL, "ON", offsetof(test_cfg, verbose), 0, 0, NULL, "verbose"},
	{"TRIAGE_T_BACKEND", TR_CFG_ENUM, "ollama", offsetof(test_cfg, backend), 0, 0,
	 "ollama|openai|rules", "backend"},
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < NITEMS; i++)
		unsetenv(items[i].env);
	return 0;
}

/* Loads with one variable set; returns the result, leaves cfg loaded on success. */
static int load_with(const char *env, const char *value, test_cfg *cfg, char *err, size_t errlen)
{
	clear_env(NULL);
	if (env)
		setenv(env, value, 1);
	memset(cfg, 0x5a, sizeof(*cfg)); /* garbage: the loader must not trust it */
	err[0] = '\0';
	int rc = tr_config_load(items, NITEMS, cfg, err, errlen);
	if (env)
		unsetenv(env);
	return rc;
}

static void expect_zeroed(const test_cfg *cfg)
{
	assert_null(cfg->name);
	assert_null(cfg->empty);
	assert_null(cfg->backend);
	assert_int_equal(cfg->port, 0);
	assert_false(cfg->tls);
}

static void expect_fail(const char *env, const char *value, const char *msg_part)
{
	test_cfg cfg;
	char err[256];
	int rc = load_with(env, value, &cfg, err, sizeof(err));
	if (rc != TR_ERR_INVALID)
		fail_msg("%s=%s: expected TR_ERR_INVALID, got %d", env, value, rc);
	if (!strstr(err, env))
		fail_msg("message '%s' does not name %s", err, env);
	if (msg_part && !strstr(err, msg_part))
		fail_msg("message '%s' does not mention '%s'", err, msg_part);
	expect_zeroed(&cfg); /* and ASan checks nothing leaked */
}

static void test_defaults(void **state)
{
	(void)state;
	test_cfg cfg;
	char err[256];
	assert_int_equal(load_with(NULL, NULL, &cfg, err, sizeof(err)), TR_OK);
	assert_string_equal(cfg.name, "gateway-1");
	assert_string_equal(cfg.empty, "");
	assert_int_equal(cfg.port, 4000);
	assert_int_equal(cfg.workers, -2);
	assert_false(cfg.tls);
	assert_true(cfg.verbose);
	assert_string_equal(cfg.backend, "ollama");
	tr_config_free(items, NITEMS, &cfg);
	assert_null(cfg.name);
	assert_null(cfg.backend);
	tr_config_free(items, NITEMS, &cfg); /* twice is harmless */
}

static void test_env_overrides(void **state)
{
	(void)state;
	test_cfg cfg;
	char err[256];
	clear_env(NULL);
	setenv("TRIAGE_T_NAME", "", 1); /* "" is kept as an empty string */
	setenv("TRIAGE_T_PORT", "8080", 1);
	setenv("TRIAGE_T_TLS", "TRUE", 1);
	setenv("TRIAGE_T_BACKEND", "rules", 1);
	assert_int_equal(tr_config_load(items, NITEMS, &cfg, err, sizeof(err)), TR_OK);
	assert_string_equal(cfg.name, "");
	assert_int_equal(cfg.port, 8080);
	assert_true(cfg.tls);
	assert_string_equal(cfg.backend, "rules");
	assert_string_equal(cfg.empty, "");
	tr_config_free(items, NITEMS, &cfg);
	clear_env(NULL);
}

static void test_int_bounds(void **state)
{
	(void)state;
	test_cfg cfg;
	char err[256];
	static const struct {
		const char *text;
		long want;
	} ok[] = {{"1", 1}, {"65535", 65535}, {"443", 443}};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(load_with("TRIAGE_T_PORT", ok[i].text, &cfg, err, sizeof(err)), TR_OK);
		assert_int_equal(cfg.port, ok[i].want);
		tr_config_free(items, NITEMS, &cfg);
	}
	assert_int_equal(load_with("TRIAGE_T_WORKERS", "-5", &cfg, err, sizeof(err)), TR_OK);
	assert_int_equal(cfg.workers, -5);
	tr_config_free(items, NITEMS, &cfg);

	expect_fail("TRIAGE_T_PORT", "0", "1..65535");
	expect_fail("TRIAGE_T_PORT", "65536", "1..65535");
	expect_fail("TRIAGE_T_WORKERS", "-6", "-5..5");
	expect_fail("TRIAGE_T_PORT", "80abc", "not an integer");
	expect_fail("TRIAGE_T_PORT", "", "not an integer");
	expect_fail("TRIAGE_T_PORT", "4.5", "not an integer");
	expect_fail("TRIAGE_T_PORT", "99999999999999999999999", "not an integer");
}

static void test_bool_words(void **state)
{
	(void)state;
	static const char *const yes[] = {"1", "true", "yes", "on", "True", "YES", "On"};
	static const char *const no[] = {"0", "false", "no", "off", "FALSE", "No", "OFF"};
	test_cfg cfg;
	char err[256];
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(load_with("TRIAGE_T_TLS", yes[i], &cfg, err, sizeof(err)), TR_OK);
		assert_true(cfg.tls);
		tr_config_free(items, NITEMS, &cfg);
		assert_int_equal(load_with("TRIAGE_T_VERBOSE", no[i], &cfg, err, sizeof(err)), TR_OK);
		assert_false(cfg.verbose);
		tr_config_free(items, NITEMS, &cfg);
	}
	expect_fail("TRIAGE_T_TLS", "maybe", "maybe");
	expect_fail("TRIAGE_T_TLS", "", "boolean");
	expect_fail("TRIAGE_T_TLS", "2", "boolean");
}

static void test_enum_choices(void **state)
{
	(void)state;
	static const char *const good[] = {"ollama", "openai", "rules"};
	test_cfg cfg;
	char err[256];
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(load_with("TRIAGE_T_BACKEND", good[i], &cfg, err, sizeof(err)), TR_OK);
		assert_string_equal(cfg.backend, good[i]);
		tr_config_free(items, NITEMS, &cfg);
	}
	/* exact matches only: no prefixes, suffixes, case changes or separators */
	static const char *const bad[] = {"oll", "rulesx", "OLLAMA", "", "|", "ollama|openai", "open"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail("TRIAGE_T_BACKEND", bad[i], "ollama|openai|rules");
}

/* A failure after strings were loaded frees them and zeroes the struct. The last
 * item fails, so every string before it had been allocated (ASan would see a leak). */
static void test_no_leak_on_late_failure(void **state)
{
	(void)state;
	expect_fail("TRIAGE_T_BACKEND", "nope", "nope");
	/* and a bad default is reported like a bad environment value */
	static const tr_cfg_item bad_default[] = {
		{"TRIAGE_T_NAME", TR_CFG_STR, "x", offsetof(test_cfg, name), 0, 0, NULL, "name"},
		{"TRIAGE_T_PORT", TR_CFG_INT, "70000", offsetof(test_cfg, port), 1, 65535, NULL, "p"},
	};
	test_cfg cfg;
	char err[256];
	clear_env(NULL);
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(tr_config_load(bad_default, 2, &cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_T_PORT"));
	assert_null(cfg.name);
}

static void test_help_and_flags(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	tr_config_help(f, "triage-test", "A test service.", items, NITEMS);
	fclose(f);
	for (size_t i = 0; i < NITEMS; i++)
		assert_non_null(strstr(text, items[i].env));
	assert_non_null(strstr(text, "usage: triage-test"));
	assert_non_null(strstr(text, "(1..65535)"));
	assert_non_null(strstr(text, "(ollama|openai|rules)"));
	assert_non_null(strstr(text, "default: 4000"));
	assert_non_null(strstr(text, "(empty)"));
	free(text);

	char *h1[] = {"prog", "--help", NULL};
	char *h2[] = {"prog", "-x", "-h", NULL};
	char *h3[] = {"prog", "--helpful", NULL};
	assert_true(tr_config_wants_help(2, h1));
	assert_true(tr_config_wants_help(3, h2));
	assert_false(tr_config_wants_help(2, h3));
	assert_false(tr_config_wants_help(1, h1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_env_overrides, clear_env),
		cmocka_unit_test_setup(test_int_bounds, clear_env),
		cmocka_unit_test_setup(test_bool_words, clear_env),
		cmocka_unit_test_setup(test_enum_choices, clear_env),
		cmocka_unit_test_setup(test_no_leak_on_late_failure, clear_env),
		cmocka_unit_test_setup(test_help_and_flags, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
