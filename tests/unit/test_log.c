/* test_log: the one-line logger (common/tr_log): format, threshold checked before the
 * arguments are evaluated, control characters folded, long lines cut with a newline; the JSON form is one valid
 * object a line, escaped, even when cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tr_log.h"

/* Runs fn with stderr sent to a temporary file and returns what it wrote (malloc'd). */
static char *capture(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	off_t len = lseek(fileno(tmp), 0, SEEK_END); /* tr_log writes with write(2) */
	assert_true(len >= 0);
	char *out = calloc(1, (size_t)len + 1);
	assert_int_equal(pread(fileno(tmp), out, (size_t)len, 0), len);
	fclose(tmp);
	return out;
}

static int evaluated;
static int side_effect(void)
{
	return ++evaluated;
}

static void log_basic(void)
{
	tr_log_init("gateway", TR_LOG_INFO);
	tr_info("listening on port %d", 4000);
	tr_iwarn(42, "dispatched attempt=%d", 2);
	tr_debug("hidden %d", side_effect()); /* below the threshold: not evaluated */
	tr_error("line\nbreak\tand\rreturn");
}

static void test_format_and_threshold(void **state)
{
	(void)state;
	evaluated = 0;
	char *out = capture(log_basic);
	assert_int_equal(evaluated, 0);
	/* three lines, each a single event */
	int lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(out, "Z INFO  gateway listening on port 4000\n"));
	assert_non_null(strstr(out, "Z WARN  gateway incident=42 dispatched attempt=2\n"));
	assert_non_null(strstr(out, "Z ERROR gateway line break and return\n"));
	assert_null(strstr(out, "hidden"));
	/* 2026-11-25T13:00:00.123Z */
	assert_true(strlen(out) > 24 && out[4] == '-' && out[10] == 'T' && out[19] == '.' &&
		    out[23] == 'Z');
	free(out);
}

static void log_long(void)
{
	tr_log_init("a-service-name-longer-than-thirty-one-bytes", TR_LOG_DEBUG);
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	tr_debug("%s", big);
	free(big);
	tr_log_init("store", TR_LOG_DEBUG);
}

static void test_long_line_and_service(void **state)
{
	(void)state;
	char *out = capture(log_long);
	size_t len = strlen(out);
	assert_true(len < 2048);
	assert_int_equal(out[len - 1], '\n');
	assert_non_null(strstr(out, " a-service-name-longer-than-thir x")); /* 31 bytes kept */
	free(out);
}

static void test_level_parse(void **state)
{
	(void)state;
	tr_log_level l = TR_LOG_ERROR;
	assert_true(tr_log_level_parse("debug", &l));
	assert_int_equal(l, TR_LOG_DEBUG);
	assert_true(tr_log_level_parse("warn", &l));
	assert_int_equal(l, TR_LOG_WARN);
	assert_false(tr_log_level_parse("WARN", &l));
	assert_false(tr_log_level_parse("", &l));
	assert_false(tr_log_level_parse(NULL, &l));
	assert_int_equal(l, TR_LOG_WARN); /* untouched on failure */
}

static void log_json(void)
{
	tr_log_init("gateway", TR_LOG_INFO);
	tr_log_set_format(TR_LOG_JSON);
	tr_info("listening on port %d", 4000);
	tr_iwarn(42, "quote \" backslash \\ newline\n bad \xff utf8 \xc3\xa9");
	char *big = malloc(5000);
	memset(big, '"', 4999); /* every byte doubles when escaped */
	big[4999] = '\0';
	tr_error("%s", big);
	free(big);
	tr_log_set_format(TR_LOG_TEXT);
}

static void test_json_lines(void **state)
{
	(void)state;
	char *out = capture(log_json);
	char *save = NULL;
	int lines = 0;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
		if (!o)
			fail_msg("line %d is not JSON (%s): %.80s", lines + 1, jerr.text, line);
		const char *t = json_string_value(json_object_get(o, "time"));
		assert_non_null(t);
		assert_int_equal(strlen(t), 24);
		assert_string_equal(json_string_value(json_object_get(o, "service")), "gateway");
		const char *msg = json_string_value(json_object_get(o, "msg"));
		assert_non_null(msg);
		if (lines == 0) {
			assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
			assert_string_equal(msg, "listening on port 4000");
			assert_null(json_object_get(o, "incident"));
		} else if (lines == 1) {
			assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
			assert_int_equal(json_integer_value(json_object_get(o, "incident")), 42);
			assert_string_equal(msg, "quote \" backslash \\ newline\n bad "
						 "\xef\xbf\xbd utf8 \xc3\xa9");
		} else {
			assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
			assert_true(strlen(line) < 2048);
			assert_true(strlen(msg) > 500); /* cut, but still one valid object */
		}
		json_decref(o);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(out);
}

static void test_format_parse(void **state)
{
	(void)state;
	tr_log_format f = TR_LOG_JSON;
	assert_true(tr_log_format_parse("text", &f));
	assert_int_equal(f, TR_LOG_TEXT);
	assert_true(tr_log_format_parse("json", &f));
	assert_int_equal(f, TR_LOG_JSON);
	assert_false(tr_log_format_parse("JSON", &f));
	assert_false(tr_log_format_parse(NULL, &f));
	assert_int_equal(f, TR_LOG_JSON);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_threshold),
		cmocka_unit_test(test_long_line_and_service),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_format_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
