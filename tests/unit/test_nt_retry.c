/* test_nt_retry: which outcomes are retried, the capped backoff, and Retry-After in
 * both its forms (notifier/nt_retry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "nt_retry.h"

static void test_classify(void **state)
{
	(void)state;
	char r[128];
	assert_int_equal(nt_retry_classify(CURLE_OK, 200, r, sizeof r), NT_SENT);
	assert_int_equal(nt_retry_classify(CURLE_OK, 204, r, sizeof r), NT_SENT);
	assert_int_equal(nt_retry_classify(CURLE_OK, 500, r, sizeof r), NT_RETRY);
	assert_string_equal(r, "HTTP 500");
	assert_int_equal(nt_retry_classify(CURLE_OK, 503, r, sizeof r), NT_RETRY);
	assert_int_equal(nt_retry_classify(CURLE_OK, 429, r, sizeof r), NT_RETRY);
	assert_int_equal(nt_retry_classify(CURLE_OK, 408, r, sizeof r), NT_RETRY);
	assert_int_equal(nt_retry_classify(CURLE_OK, 404, r, sizeof r), NT_GIVE_UP);
	assert_int_equal(nt_retry_classify(CURLE_OK, 301, r, sizeof r), NT_GIVE_UP);
	assert_int_equal(nt_retry_classify(CURLE_OK, 400, r, sizeof r), NT_GIVE_UP);
	assert_int_equal(nt_retry_classify(CURLE_OPERATION_TIMEDOUT, 0, r, sizeof r), NT_RETRY);
	assert_non_null(strstr(r, "timeout"));
	assert_int_equal(nt_retry_classify(CURLE_COULDNT_CONNECT, 0, r, sizeof r), NT_RETRY);
	assert_non_null(strstr(r, "transport"));
}

static void test_delay(void **state)
{
	(void)state;
	assert_int_equal(nt_retry_delay(1, 1000, 300000, -1, 3600000), 1000);
	assert_int_equal(nt_retry_delay(2, 1000, 300000, -1, 3600000), 2000);
	assert_int_equal(nt_retry_delay(4, 1000, 300000, -1, 3600000), 8000);
	assert_int_equal(nt_retry_delay(30, 1000, 300000, -1, 3600000), 300000);
	assert_int_equal(nt_retry_delay(1000000, 1000, 300000, -1, 3600000), 300000);
	assert_int_equal(nt_retry_delay(1, 1000, 300000, 5000, 3600000), 5000);
	assert_int_equal(nt_retry_delay(1, 1000, 300000, 0, 3600000), 0);
	assert_int_equal(nt_retry_delay(1, 1000, 300000, 7200000, 3600000), 3600000);
}

static void test_retry_after(void **state)
{
	(void)state;
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
	assert_int_equal(nt_retry_after_parse("1", now), 1000);
	assert_int_equal(nt_retry_after_parse(" 120\r\n", now), 120000);
	assert_int_equal(nt_retry_after_parse("0", now), 0);
	assert_int_equal(nt_retry_after_parse("Tue, 14 Nov 2023 22:13:50 GMT\r\n", now), 30000);
	assert_int_equal(nt_retry_after_parse("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
	assert_int_equal(nt_retry_after_parse("", now), -1);
	assert_int_equal(nt_retry_after_parse("-5", now), -1);
	assert_int_equal(nt_retry_after_parse("12abc", now), -1);
	assert_int_equal(nt_retry_after_parse("soon", now), -1);
	assert_int_equal(nt_retry_after_parse("99999999999999999999", now), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_classify),
					   cmocka_unit_test(test_delay),
					   cmocka_unit_test(test_retry_after)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
