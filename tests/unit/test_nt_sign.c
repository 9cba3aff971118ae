/* test_nt_sign: the webhook signature is HMAC-SHA256 (RFC 4231 vectors) in the header's
 * "sha256=<hex>" form (notifier/nt_sign.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nt_sign.h"

static void test_rfc4231_case_2(void **state)
{
	(void)state;
	char out[NT_SIGN_LEN];
	const char *data = "what do ya want for nothing?";
	assert_int_equal(nt_sign("Jefe", data, strlen(data), out), 0);
	assert_string_equal(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_body_bytes_exactly(void **state)
{
	(void)state;
	char a[NT_SIGN_LEN], b[NT_SIGN_LEN];
	const char body[] = "{\"a\":1}\0tail";
	assert_int_equal(nt_sign("k", body, 7, a), 0);
	assert_int_equal(nt_sign("k", body, sizeof body - 1, b), 0);
	assert_string_not_equal(a, b); /* the length given is what is signed, NULs included */
	assert_int_equal(nt_sign("k2", body, 7, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), NT_SIGN_LEN - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_rfc4231_case_2),
					   cmocka_unit_test(test_body_bytes_exactly)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
