/* test_nt_config: defaults, the required database URL, and the checks beyond the table
 * (notifier/nt_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nt_config.h"
#include "tr_err.h"

static void clear(void)
{
	for (size_t i = 0; i < nt_config_nitems; i++)
		unsetenv(nt_config_items[i].env);
}

static void test_defaults(void **state)
{
	(void)state;
	nt_config c;
	char err[256];
	clear();
	assert_int_equal(nt_config_load(&c, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_DATABASE_URL"));
	setenv("TRIAGE_DATABASE_URL", "postgresql:///x", 1);
	assert_int_equal(nt_config_load(&c, err, sizeof err), TR_OK);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.max_attempts, 8);
	assert_true(c.lease_ms > c.timeout_ms);
	assert_true(strlen(c.notifier_id) > 0);
	nt_config_free(&c);
	clear();
}

static void test_checks(void **state)
{
	(void)state;
	nt_config c;
	char err[256];
	clear();
	setenv("TRIAGE_DATABASE_URL", "postgresql:///x", 1);
	setenv("TRIAGE_NOTIFY_TIMEOUT_MS", "5000", 1);
	setenv("TRIAGE_NOTIFY_LEASE_MS", "5000", 1);
	assert_int_equal(nt_config_load(&c, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_NOTIFY_LEASE_MS"));
	setenv("TRIAGE_NOTIFY_LEASE_MS", "6000", 1);
	setenv("TRIAGE_DASHBOARD_URL", "dash:4000", 1);
	assert_int_equal(nt_config_load(&c, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "TRIAGE_DASHBOARD_URL"));
	setenv("TRIAGE_DASHBOARD_URL", "http://dash:4000", 1);
	setenv("TRIAGE_NOTIFIER_WORKERS", "0", 1);
	assert_int_not_equal(nt_config_load(&c, err, sizeof err), TR_OK);
	clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_defaults),
					   cmocka_unit_test(test_checks)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
