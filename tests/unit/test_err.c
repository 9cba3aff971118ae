/* Unit tests for common/tr_err: the one mapping of errors to HTTP statuses and the
 * error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tr_err.h"

/* That every name is one docs/API.md lists is checked by integration/test_docs.py. */
static void test_every_error_is_an_http_error(void **state)
{
	(void)state;
	for (int e = 1; e < TR_ERR__COUNT; e++) {
		assert_non_null(tr_err_http_name(e));
		int st = tr_err_http_status(e);
		if (st < 400 || st > 599)
			fail_msg("error %d (%s) maps to HTTP %d", e, tr_errname(e), st);
	}
}

static void test_database_errors_are_internal_not_outages(void **state)
{
	(void)state;
	assert_int_equal(tr_err_http_status(TR_ERR_DB), 500);
	assert_string_equal(tr_err_http_name(TR_ERR_DB), "internal");
	assert_int_equal(tr_err_http_status(TR_ERR_PROTO), 500);
	assert_int_equal(tr_err_http_status(TR_ERR_INTERNAL), 500);
	assert_int_equal(tr_err_http_status(TR_ERR_NOMEM), 500);
}

static void test_only_unavailable_and_timeout_are_503(void **state)
{
	(void)state;
	for (int e = 0; e < TR_ERR__COUNT; e++) {
		int want = e == TR_ERR_UNAVAILABLE || e == TR_ERR_TIMEOUT;
		assert_int_equal(tr_err_http_status(e) == 503, want);
		assert_int_equal(strcmp(tr_err_http_name(e), "unavailable") == 0, want);
	}
}

static void test_client_errors(void **state)
{
	(void)state;
	assert_int_equal(tr_err_http_status(TR_ERR_INVALID), 400);
	assert_string_equal(tr_err_http_name(TR_ERR_INVALID), "invalid");
	assert_int_equal(tr_err_http_status(TR_ERR_NOT_FOUND), 404);
	assert_int_equal(tr_err_http_status(TR_ERR_CONFLICT), 409);
	assert_int_equal(tr_err_http_status(TR_ERR_AUTH), 401);
	assert_int_equal(tr_err_http_status(TR_ERR_TOO_LARGE), 413);
}

static void test_unknown_codes_are_internal(void **state)
{
	(void)state;
	assert_int_equal(tr_err_http_status(-1), 500);
	assert_int_equal(tr_err_http_status(TR_ERR__COUNT), 500);
	assert_string_equal(tr_err_http_name(9999), "internal");
	assert_int_equal(tr_err_http_status(TR_OK), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_error_is_an_http_error),
		cmocka_unit_test(test_database_errors_are_internal_not_outages),
		cmocka_unit_test(test_only_unavailable_and_timeout_are_503),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_unknown_codes_are_internal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
