/* test_enr_config: the enricher's configuration table: defaults, bounds, enums, URLs,
 * the lists of store URLs, and the default enricher id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "enr_config.h"
#include "proto.h"

static void clear_env(void)
{
	for (size_t i = 0; i < enr_config_nitems; i++)
		unsetenv(enr_config_items[i].env);
}

static void test_defaults(void **state)
{
	(void)state;
	clear_env();
	enr_config c;
	char err[200];
	assert_int_equal(enr_config_load(&c, err, sizeof err), 0);
	assert_string_equal(c.backend, "auto");
	assert_string_equal(c.ollama_url, "http://127.0.0.1:11434");
	assert_string_equal(c.model, "phi3:mini");
	assert_string_equal(c.fallback, "fail");
	assert_int_equal(c.slots, 4);
	assert_string_equal(c.jobs_url, PROTO_DEFAULT_JOBS_URL);
	assert_string_equal(c.results_url, PROTO_DEFAULT_RESULTS_URL);
	assert_string_equal(c.openai_key, "");
	char suffix[32];
	snprintf(suffix, sizeof suffix, "-%ld", (long)getpid());
	assert_non_null(strstr(c.enricher_id, suffix));
	enr_config_free(&c);
}

static void expect_error(const char *var, const char *value, const char *word)
{
	clear_env();
	setenv(var, value, 1);
	enr_config c;
	char err[200] = "";
	assert_int_not_equal(enr_config_load(&c, err, sizeof err), 0);
	if (!strstr(err, var) || !strstr(err, word))
		fail_msg("%s=%s: error '%s' should name the variable and say '%s'", var, value, err, word);
	assert_null(c.backend); /* nothing left allocated */
}

static void test_invalid(void **state)
{
	(void)state;
	expect_error("TRIAGE_LLM_BACKEND", "gpt", "not one of");
	expect_error("TRIAGE_LLM_FALLBACK", "retry", "not one of");
	expect_error("TRIAGE_ENRICHER_SLOTS", "0", "outside");
	expect_error("TRIAGE_ENRICHER_SLOTS", "four", "not an integer");
	expect_error("TRIAGE_LLM_TIMEOUT_MS", "5", "outside");
	expect_error("TRIAGE_OLLAMA_URL", "127.0.0.1:11434", "http");
	expect_error("TRIAGE_OPENAI_URL", "ftp://x", "http");
	expect_error("TRIAGE_MODEL", "", "1..");
	expect_error("TRIAGE_LOG_LEVEL", "verbose", "not one of");
	clear_env();
}

static void test_overrides(void **state)
{
	(void)state;
	clear_env();
	setenv("TRIAGE_LLM_BACKEND", "openai", 1);
	setenv("TRIAGE_OPENAI_KEY", "sk-test", 1);
	setenv("TRIAGE_ENRICHER_ID", "enricher7", 1);
	setenv("TRIAGE_ENRICHER_SLOTS", "16", 1);
	enr_config c;
	char err[200];
	assert_int_equal(enr_config_load(&c, err, sizeof err), 0);
	assert_string_equal(c.backend, "openai");
	assert_string_equal(c.openai_key, "sk-test");
	assert_string_equal(c.enricher_id, "enricher7");
	assert_int_equal(c.slots, 16);
	enr_config_free(&c);
	clear_env();
}

/* Several stores: the two lists go together, element by element. */
static void test_store_lists(void **state)
{
	(void)state;
	enr_config c;
	char err[300] = "";
	clear_env();
	setenv("TRIAGE_JOBS_URL", "tcp://s1:7001,tcp://s2:7001", 1);
	setenv("TRIAGE_RESULTS_URL", "tcp://s1:7002,tcp://s2:7002", 1);
	assert_int_equal(enr_config_load(&c, err, sizeof err), 0);
	assert_string_equal(c.jobs_url, "tcp://s1:7001,tcp://s2:7001");
	enr_config_free(&c);

	setenv("TRIAGE_RESULTS_URL", "tcp://s1:7002", 1); /* one store short */
	assert_int_not_equal(enr_config_load(&c, err, sizeof err), 0);
	assert_non_null(strstr(err, "TRIAGE_JOBS_URL names 2"));
	assert_non_null(strstr(err, "TRIAGE_RESULTS_URL names 1"));
	assert_null(c.backend);

	setenv("TRIAGE_RESULTS_URL", "tcp://s1:7002,", 1); /* an empty element */
	assert_int_not_equal(enr_config_load(&c, err, sizeof err), 0);
	assert_non_null(strstr(err, "TRIAGE_RESULTS_URL: address 2 of 2 is empty"));
	assert_null(c.backend);
	clear_env();
}

static void test_help_lists_every_variable(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	tr_config_help(f, "triage-enricher", "x", enr_config_items, enr_config_nitems);
	fclose(f);
	for (size_t i = 0; i < enr_config_nitems; i++)
		assert_non_null(strstr(text, enr_config_items[i].env));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_store_lists),
		cmocka_unit_test(test_help_lists_every_variable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
