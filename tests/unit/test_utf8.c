/* Unit tests for common/tr_utf8: the one strict UTF-8 decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tr_utf8.h"

static void test_valid_counts_code_points(void **state)
{
	(void)state;
	size_t n = 99;
	assert_true(tr_utf8_valid("", 0, &n, NULL));
	assert_int_equal(n, 0);
	assert_true(tr_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5", 10, &n, NULL));
	assert_int_equal(n, 4);
	assert_true(tr_utf8_valid("a\0b", 3, &n, NULL)); /* U+0000 is a character */
	assert_int_equal(n, 3);
	assert_true(tr_utf8_valid("\xf4\x8f\xbf\xbf", 4, &n, NULL)); /* U+10FFFF */
	assert_true(tr_utf8_valid("\xef\xbf\xbf", 3, &n, NULL));     /* U+FFFF */
	assert_true(tr_utf8_valid("\xed\x9f\xbf", 3, &n, NULL));     /* U+D7FF */
}

static void test_invalid_sequences(void **state)
{
	(void)state;
	size_t at = 0;
	assert_false(tr_utf8_valid("ab\x80", 3, NULL, &at));
	assert_int_equal(at, 2);
	assert_false(tr_utf8_valid("\xc0\xaf", 2, NULL, NULL));         /* overlong 2-byte */
	assert_false(tr_utf8_valid("\xe0\x80\x80", 3, NULL, NULL));     /* overlong 3-byte */
	assert_false(tr_utf8_valid("\xf0\x80\x80\x80", 4, NULL, NULL)); /* overlong 4-byte */
	assert_false(tr_utf8_valid("\xf5\x80\x80\x80", 4, NULL, NULL)); /* above U+10FFFF */
	assert_false(tr_utf8_valid("\xf4\x90\x80\x80", 4, NULL, NULL)); /* U+110000 */
	assert_false(tr_utf8_valid("\xed\xa0\x80", 3, NULL, NULL));     /* surrogate U+D800 */
	assert_false(tr_utf8_valid("x\xc3", 2, NULL, &at));             /* truncated */
	assert_int_equal(at, 1);
	assert_false(tr_utf8_valid("\xe2\x82", 2, NULL, NULL));
	assert_false(tr_utf8_valid("\xc3\x28", 2, NULL, NULL)); /* bad continuation */
	assert_false(tr_utf8_valid("\xff", 1, NULL, NULL));
}

static void test_next_decodes(void **state)
{
	(void)state;
	uint32_t cp = 0;
	assert_int_equal(tr_utf8_next((const unsigned char *)"A", 1, &cp), 1);
	assert_int_equal(cp, 0x41);
	assert_int_equal(tr_utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(tr_utf8_next((const unsigned char *)"\xe2\x80\xae", 3, &cp), 3);
	assert_int_equal(cp, 0x202E);
	assert_int_equal(tr_utf8_next((const unsigned char *)"\xf0\x9f\x94\xa5", 4, &cp), 4);
	assert_int_equal(cp, 0x1F525);
	/* only n bytes are read */
	assert_int_equal(tr_utf8_next((const unsigned char *)"\xf0\x9f\x94\xa5", 3, &cp), 0);
	assert_int_equal(tr_utf8_next((const unsigned char *)"\xc3\xa9", 2, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_counts_code_points),
		cmocka_unit_test(test_invalid_sequences),
		cmocka_unit_test(test_next_decodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
