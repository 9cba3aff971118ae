/* test_store_enrichers: heartbeats, expiry and the dispatch credits
 * (store/store_enrichers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "store_enrichers.h"

static void test_credits(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	assert_int_equal(store_enrichers_credits(e, 0), 0); /* nobody: nothing dispatched */
	assert_true(store_enrichers_heartbeat(e, "a", "ollama", 4, 1, 1000));
	assert_int_equal(store_enrichers_credits(e, 1000), 3);
	assert_false(store_enrichers_heartbeat(e, "b", "rules", 2, 2, 1000)); /* all busy */
	assert_int_equal(store_enrichers_credits(e, 1000), 3);
	store_enrichers_charge(e, 2, 1000);
	assert_int_equal(store_enrichers_credits(e, 1000), 1);
	store_enrichers_charge(e, 5, 1000); /* more than there is: stops at zero */
	assert_int_equal(store_enrichers_credits(e, 1000), 0);
	/* a heartbeat resets what was charged to that enricher */
	assert_true(store_enrichers_heartbeat(e, "a", "ollama", 4, 3, 1500));
	assert_int_equal(store_enrichers_credits(e, 1500), 1);
	/* silence: forgotten after the expiry */
	assert_int_equal(store_enrichers_credits(e, 6400), 1);
	assert_int_equal(store_enrichers_credits(e, 6600), 0);
	store_enrichers_free(e);
}

static void test_clamp_and_snapshot(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	store_enrichers_heartbeat(e, "a", "ollama", -3, -1, 0);
	assert_int_equal(store_enrichers_credits(e, 0), 0);
	store_enrichers_heartbeat(e, "b", "ollama", 1000000, 0, 0);
	assert_int_equal(store_enrichers_credits(e, 0), 4096);
	store_enrichers_heartbeat(e, "c", "rules", 2, 1, 0);
	assert_false(store_enrichers_heartbeat(e, "", "x", 2, 0, 0));
	assert_false(store_enrichers_heartbeat(e, NULL, "x", 2, 0, 0));
	long active, slots, busy;
	char backends[256];
	store_enrichers_snapshot(e, 0, &active, &slots, &busy, backends, sizeof(backends));
	assert_int_equal(active, 3);
	assert_int_equal(slots, 4096 + 2);
	assert_int_equal(busy, 1);
	assert_string_equal(backends, "{\"ollama\",\"rules\"}");
	store_enrichers_free(e);
}

static void test_bounded_table(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	char id[32];
	for (int i = 0; i < STORE_ENRICHERS_MAX + 50; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		store_enrichers_heartbeat(e, id, "rules", 1, 0, 0);
	}
	assert_int_equal(store_enrichers_credits(e, 0), STORE_ENRICHERS_MAX);
	store_enrichers_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credits),
		cmocka_unit_test(test_clamp_and_snapshot),
		cmocka_unit_test(test_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
