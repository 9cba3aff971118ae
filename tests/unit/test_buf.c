/* Unit tests for common/tr_buf: the capped growable buffer (cap, failure stickiness,
 * take, reset, formatted appends past the small stack buffer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tr_buf.h"

static void test_appends_and_take(void **state)
{
	(void)state;
	tr_buf b;
	tr_buf_init(&b, 1024);
	assert_null(b.data);
	assert_true(tr_buf_adds(&b, "ab"));
	assert_true(tr_buf_add(&b, "c\0d", 3));
	assert_true(tr_buf_addf(&b, "-%d-", 42));
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data, "abc\0d-42-", 10); /* NUL-terminated */
	char *s = tr_buf_take(&b);
	assert_memory_equal(s, "abc\0d-42-", 10);
	free(s);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	s = tr_buf_take(&b); /* nothing appended: "" */
	assert_string_equal(s, "");
	free(s);
}

static void test_cap_counts_the_nul_and_failure_sticks(void **state)
{
	(void)state;
	tr_buf b;
	tr_buf_init(&b, 8);
	assert_true(tr_buf_adds(&b, "1234567")); /* 7 bytes + NUL = the cap */
	assert_false(b.failed);
	assert_false(tr_buf_adds(&b, "8"));
	assert_true(b.failed);
	assert_true(b.too_large);
	assert_string_equal(b.data, "1234567"); /* nothing half-appended */
	assert_false(tr_buf_adds(&b, "")); /* failed stays failed */
	assert_null(tr_buf_take(&b));
	assert_false(b.failed); /* take leaves it empty and usable */
	assert_true(tr_buf_adds(&b, "x"));
	tr_buf_free(&b);
}

static void test_huge_append_does_not_wrap(void **state)
{
	(void)state;
	tr_buf b;
	tr_buf_init(&b, 64);
	assert_true(tr_buf_adds(&b, "x"));
	assert_false(tr_buf_add(&b, "y", SIZE_MAX)); /* len + n + 1 would overflow */
	assert_true(b.too_large);
	tr_buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
	(void)state;
	tr_buf b;
	tr_buf_init(&b, 4);
	assert_false(tr_buf_adds(&b, "abcd"));
	tr_buf_reset(&b);
	assert_false(b.failed);
	assert_false(b.too_large);
	assert_true(tr_buf_adds(&b, "abc"));
	char *before = b.data;
	tr_buf_reset(&b);
	assert_ptr_equal(b.data, before);
	assert_string_equal(b.data, "");
	tr_buf_free(&b);
}

static void test_long_formatted_append(void **state)
{
	(void)state;
	char big[1000];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	tr_buf b;
	tr_buf_init(&b, 4096);
	assert_true(tr_buf_addf(&b, "<%s>", big));
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[1000], '>');
	tr_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends_and_take),
		cmocka_unit_test(test_cap_counts_the_nul_and_failure_sticks),
		cmocka_unit_test(test_huge_append_does_not_wrap),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_long_formatted_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
