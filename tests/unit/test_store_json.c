/* test_store_json: bounded buffers, JSON string escaping, PostgreSQL array literals,
 * error bodies, UTF-8 checks and base64url (store/store_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "tr_err.h"

static void test_buf_cap(void **state)
{
	(void)state;
	store_buf b;
	store_buf_init(&b, 8);
	assert_true(store_buf_adds(&b, "abc"));
	assert_true(store_buf_addf(&b, "%d", 1234));
	assert_string_equal(b.data, "abc1234");
	assert_false(store_buf_adds(&b, "x")); /* 8 bytes + NUL do not fit */
	assert_true(b.failed);
	assert_null(store_buf_take(&b));

	store_buf_init(&b, 1 << 20);
	char big[600];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(store_buf_addf(&b, "<%s>", big)); /* longer than the stack buffer */
	assert_int_equal(b.len, 601);
	char *s = store_buf_take(&b);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[600], '>');
	free(s);
}

static void test_json_string(void **state)
{
	(void)state;
	store_buf b;
	store_buf_init(&b, 1024);
	store_buf_json_str(&b, "a\"b\\c\nd\te\x01" "f é");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001f é\"");
	store_buf_free(&b);
}

static void test_array_literal(void **state)
{
	(void)state;
	store_buf b;
	store_buf_init(&b, 1024);
	store_buf_array_open(&b);
	store_buf_array_item(&b, "plain");
	store_buf_array_item(&b, NULL);
	store_buf_array_item(&b, "q\"uo\\te");
	store_buf_array_item(&b, "{}");
	store_buf_array_item(&b, "");
	store_buf_array_item(&b, "NULL");
	store_buf_array_close(&b);
	assert_string_equal(b.data, "{\"plain\",NULL,\"q\\\"uo\\\\te\",\"{}\",\"\",\"NULL\"}");
	store_buf_free(&b);

	store_buf_init(&b, 64);
	store_buf_array_open(&b);
	store_buf_array_close(&b);
	assert_string_equal(b.data, "{}");
	store_buf_free(&b);
}

static void test_error_body(void **state)
{
	(void)state;
	char *s = store_json_error(TR_ERR_INVALID, "title: \"x\" too long");
	assert_string_equal(s, "{\"error\":\"invalid\",\"detail\":\"title: \\\"x\\\" too long\"}");
	free(s);
	s = store_json_error(TR_ERR_UNAVAILABLE, NULL);
	assert_string_equal(s, "{\"error\":\"unavailable\",\"detail\":\"service unavailable\"}");
	free(s);
}

static void test_utf8(void **state)
{
	(void)state;
	size_t n = 0;
	assert_true(store_utf8_check("abc", 3, &n));
	assert_int_equal(n, 3);
	assert_true(store_utf8_check("é€😀", strlen("é€😀"), &n));
	assert_int_equal(n, 3);
	assert_false(store_utf8_check("\xC3", 1, NULL));         /* truncated */
	assert_false(store_utf8_check("\xC0\xAF", 2, NULL));     /* overlong */
	assert_false(store_utf8_check("\xED\xA0\x80", 3, NULL)); /* surrogate */
	assert_false(store_utf8_check("\xF4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
	assert_false(store_utf8_check("a\0b", 3, NULL));         /* NUL */
	assert_false(store_utf8_check("\xFF", 1, NULL));
	assert_false(store_utf8_check("\xE2\x82", 2, NULL));
}

static void test_b64url(void **state)
{
	(void)state;
	char out[32];
	unsigned char back[32];
	const char *inputs[] = {"", "1", "12", "123", "1234", "9223372036854775807"};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		assert_true(store_b64url_encode(inputs[i], strlen(inputs[i]), out, sizeof(out)));
		long n = store_b64url_decode(out, back, sizeof(back));
		assert_int_equal(n, (long)strlen(inputs[i]));
		assert_memory_equal(back, inputs[i], (size_t)n);
	}
	assert_true(store_b64url_encode("\xfb\xff", 2, out, sizeof(out)));
	assert_string_equal(out, "-_8");
	assert_false(store_b64url_encode("12345678", 8, out, 8)); /* does not fit */
	assert_int_equal(store_b64url_decode("a", back, sizeof(back)), -1);     /* bad length */
	assert_int_equal(store_b64url_decode("ab+c", back, sizeof(back)), -1);  /* not url */
	assert_int_equal(store_b64url_decode("ab=", back, sizeof(back)), -1);   /* padding */
	assert_int_equal(store_b64url_decode("MR", back, sizeof(back)), -1);    /* stray bits */
	assert_int_equal(store_b64url_decode("MTIzNA", back, 2), -1);           /* too long */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),     cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_array_literal), cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_utf8),        cmocka_unit_test(test_b64url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
