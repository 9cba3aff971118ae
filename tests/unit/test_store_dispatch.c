/* test_store_dispatch: the retry backoff (store/store_dispatch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>

#include "store_dispatch.h"

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(store_backoff_ms(1, 1000, 60000), 1000);
	assert_int_equal(store_backoff_ms(2, 1000, 60000), 2000);
	assert_int_equal(store_backoff_ms(3, 1000, 60000), 4000);
	assert_int_equal(store_backoff_ms(6, 1000, 60000), 32000);
	assert_int_equal(store_backoff_ms(7, 1000, 60000), 60000); /* capped */
	assert_int_equal(store_backoff_ms(100, 1000, 60000), 60000);
	assert_int_equal(store_backoff_ms(0, 1000, 60000), 1000);  /* treated as the first */
	assert_int_equal(store_backoff_ms(-5, 1000, 60000), 1000);
	assert_int_equal(store_backoff_ms(5, 0, 60000), 0);        /* no backoff */
	assert_int_equal(store_backoff_ms(64, 3600000, 86400000), 86400000);
	assert_int_equal(store_backoff_ms(LONG_MAX, 3, LONG_MAX), LONG_MAX); /* no overflow */
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_backoff)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
