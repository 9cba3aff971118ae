/* test_store_migrate: which file names are migrations, and their numbers
 * (store/store_migrate.c). Applying them is covered by the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_migrate.h"

static void test_version(void **state)
{
	(void)state;
	assert_int_equal(store_migrate_version("001_init.sql"), 1);
	assert_int_equal(store_migrate_version("002_store.sql"), 2);
	assert_int_equal(store_migrate_version("120_more_things.sql"), 120);
	assert_int_equal(store_migrate_version("001_init.sql~"), -1);
	assert_int_equal(store_migrate_version("001_init.SQL"), -1);
	assert_int_equal(store_migrate_version("001init.sql"), -1);
	assert_int_equal(store_migrate_version("001_.sql"), -1);
	assert_int_equal(store_migrate_version("_init.sql"), -1);
	assert_int_equal(store_migrate_version("000_zero.sql"), -1);
	assert_int_equal(store_migrate_version("README.md"), -1);
	assert_int_equal(store_migrate_version("."), -1);
	assert_int_equal(store_migrate_version(""), -1);
	assert_int_equal(store_migrate_version("1234567890_too_long.sql"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_version)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
