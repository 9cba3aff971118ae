/* test_gw_limit: token buckets (burst, refill, Retry-After, off at rate 0), names kept
 * apart, eviction when the table is full, and in-flight counters; plus the key answers
 * of gw_keys (the new key shown once, lookups read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_keys.h"
#include "gw_limit.h"

static void test_bucket(void **state)
{
	(void)state;
	gw_limit *l = gw_limit_new(2.0, 4.0, 64); /* 2/s, bursts of 4 */
	assert_non_null(l);
	for (int i = 0; i < 4; i++)
		assert_int_equal(gw_limit_take(l, "a", 1000), 0);
	long wait = gw_limit_take(l, "a", 1000);
	assert_int_equal(wait, 1); /* half a second, rounded up to whole seconds */
	assert_int_equal(gw_limit_peek(l, "a", 1000), 1);
	assert_int_equal(gw_limit_take(l, "b", 1000), 0); /* another name is apart */
	assert_int_equal(gw_limit_take(l, "a", 1499), 1);
	assert_int_equal(gw_limit_take(l, "a", 1500), 0); /* one token refilled */
	assert_true(gw_limit_take(l, "a", 1500) > 0);
	assert_int_equal(gw_limit_peek(l, "a", 100000), 0); /* refilled, capped at the burst */
	for (int i = 0; i < 4; i++)
		assert_int_equal(gw_limit_take(l, "a", 100000), 0);
	assert_true(gw_limit_take(l, "a", 100000) > 0);
	gw_limit_free(l);

	gw_limit *slow = gw_limit_new(10.0 / 60.0, 10.0, 64); /* 10 a minute */
	for (int i = 0; i < 10; i++)
		assert_int_equal(gw_limit_take(slow, "x", 0), 0);
	assert_int_equal(gw_limit_peek(slow, "x", 0), 6); /* a token every 6 s */
	gw_limit_free(slow);

	gw_limit *off = gw_limit_new(0, 0, 8);
	for (int i = 0; i < 100; i++)
		assert_int_equal(gw_limit_take(off, "a", 0), 0);
	gw_limit_free(off);
}

static void test_eviction_keeps_busy_names(void **state)
{
	(void)state;
	gw_limit *l = gw_limit_new(1.0, 1.0, 8);
	char name[16];
	assert_true(gw_limit_acquire(l, "busy", 2));
	assert_true(gw_limit_acquire(l, "busy", 2));
	assert_false(gw_limit_acquire(l, "busy", 2));
	/* many other names: the table is full and evicts, but never "busy" */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(gw_limit_take(l, name, i), 0);
	}
	assert_false(gw_limit_acquire(l, "busy", 2));
	gw_limit_release(l, "busy");
	assert_true(gw_limit_acquire(l, "busy", 2));
	gw_limit_release(l, "busy");
	gw_limit_release(l, "busy");
	gw_limit_release(l, "busy"); /* one too many: stays at zero */
	assert_true(gw_limit_acquire(l, "busy", 1));
	assert_false(gw_limit_acquire(l, "busy", 1));
	gw_limit_free(l);
}

static void test_keys_answers(void **state)
{
	(void)state;
	char *s = gw_keys_with_key("{\"id\":3,\"name\":\"ci\",\"role\":\"viewer\"}", "trk_abc");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"key\":\"trk_abc\""));
	assert_non_null(strstr(s, "\"id\":3"));
	free(s);
	assert_null(gw_keys_with_key("[1]", "k"));
	assert_null(gw_keys_with_key("nope", "k"));
	gw_principal p;
	memset(&p, 0, sizeof p);
	assert_true(gw_keys_parse_lookup("{\"id\":17,\"name\":\"x\",\"role\":\"responder\"}", &p));
	assert_string_equal(p.id, "k17");
	assert_int_equal(p.role, GW_ROLE_RESPONDER);
	assert_false(gw_keys_parse_lookup("{\"id\":17,\"role\":\"root\"}", &p));
	assert_false(gw_keys_parse_lookup("{\"id\":\"17\",\"role\":\"viewer\"}", &p));
	assert_false(gw_keys_parse_lookup("{\"id\":0,\"role\":\"viewer\"}", &p));
	assert_false(gw_keys_parse_lookup(NULL, &p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_eviction_keeps_busy_names),
		cmocka_unit_test(test_keys_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
