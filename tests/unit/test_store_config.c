/* test_store_config: the store's configuration table: defaults, the required database
 * URL, bounds, cross-checks (store/store_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "store_config.h"
#include "tr_err.h"

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < store_cfg_nitems; i++)
		unsetenv(store_cfg_items[i].env);
	return 0;
}

static void test_requires_database_url(void **state)
{
	(void)state;
	store_config cfg;
	char err[512] = "";
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_DATABASE_URL"));
	assert_null(cfg.database_url); /* nothing left allocated */
}

static void test_defaults(void **state)
{
	(void)state;
	store_config cfg;
	char err[512] = "";
	setenv("TRIAGE_DATABASE_URL", "postgresql://u@127.0.0.1/db", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_OK);
	assert_true(cfg.group_commit);
	assert_int_equal(cfg.batch_max, 512);
	assert_int_equal(cfg.max_attempts, 5);
	assert_string_equal(cfg.default_model, "phi3:mini");
	assert_string_equal(cfg.store_url, "ipc:///tmp/triage/store.ipc");
	assert_true(strlen(cfg.store_id) > 0); /* host:pid */
	assert_non_null(strstr(cfg.sql_dir, "sql"));
	store_config_free(&cfg);
}

static void test_overrides_and_bounds(void **state)
{
	(void)state;
	store_config cfg;
	char err[512] = "";
	setenv("TRIAGE_DATABASE_URL", "postgresql://u@127.0.0.1/db", 1);
	setenv("TRIAGE_GROUP_COMMIT", "off", 1);
	setenv("TRIAGE_BATCH_MAX", "64", 1);
	setenv("TRIAGE_STORE_ID", "store-a", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_OK);
	assert_false(cfg.group_commit);
	assert_int_equal(cfg.batch_max, 64);
	assert_string_equal(cfg.store_id, "store-a");
	store_config_free(&cfg);

	setenv("TRIAGE_BATCH_MAX", "0", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_BATCH_MAX"));
	unsetenv("TRIAGE_BATCH_MAX");

	setenv("TRIAGE_RETRY_BACKOFF_MS", "5000", 1);
	setenv("TRIAGE_RETRY_BACKOFF_MAX_MS", "1000", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_RETRY_BACKOFF_MAX_MS"));
	unsetenv("TRIAGE_RETRY_BACKOFF_MS");
	unsetenv("TRIAGE_RETRY_BACKOFF_MAX_MS");

	setenv("TRIAGE_DATABASE_URL", "postgresql://[broken", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_DATABASE_URL"));
	setenv("TRIAGE_DATABASE_URL", "host=/tmp dbname=triage", 1); /* conninfo works too */
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_OK);
	store_config_free(&cfg);

	setenv("TRIAGE_LOG_LEVEL", "loud", 1);
	assert_int_equal(store_config_load(&cfg, err, sizeof(err)), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_LOG_LEVEL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_requires_database_url, clear_env),
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_overrides_and_bounds, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
