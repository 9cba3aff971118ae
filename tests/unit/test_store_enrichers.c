/* test_store_enrichers: ready messages, expiry, jobs in transit and held, and the exact
 * dispatch credits (store/store_enrichers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "store_enrichers.h"

/* A ready message: held is a NULL-terminated list of "id:attempt[:done]". */
static bool beat(store_enrichers *e, const char *id, int64_t epoch, int32_t slots, int32_t busy,
		 char **held, int64_t now)
{
	size_t n = 0;
	while (held && held[n])
		n++;
	proto_heartbeat h = {.enricher_id = (char *)id, .backend = "rules", .slots = slots,
			     .busy = busy, .epoch = epoch, .held = held, .nheld = n};
	return store_enrichers_heartbeat(e, &h, now);
}

static void kept(store_enrichers *e, int64_t now, const char *ids, const char *attempts)
{
	store_buf a, b;
	store_buf_init(&a, 65536);
	store_buf_init(&b, 65536);
	store_enrichers_kept(e, now, &a, &b);
	assert_string_equal(a.data, ids);
	assert_string_equal(b.data, attempts);
	store_buf_free(&a);
	store_buf_free(&b);
}

static void test_credit_is_earned(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	assert_int_equal(store_enrichers_credits(e, 0), 0); /* nobody: nothing dispatched */
	/* new enrichers, however many slots they claim, count for one job in total */
	assert_true(beat(e, "a", 1, 4, 0, NULL, 1000));
	assert_true(beat(e, "b", 2, 4000, 0, NULL, 1000));
	assert_int_equal(store_enrichers_credits(e, 1000), 1);
	store_enrichers_sent(e, 10, 1, 7000);
	assert_int_equal(store_enrichers_credits(e, 1000), 0); /* in transit */
	char *h1[] = {"10:1", NULL};
	assert_true(beat(e, "a", 1, 4, 1, h1, 1100)); /* a took it: proven 1, cap 2 */
	assert_int_equal(store_enrichers_in_transit(e, 1100), 0);
	/* a: 2-1; b's claim counts for nothing while a proven enricher is live */
	assert_int_equal(store_enrichers_credits(e, 1100), 1);
	store_enrichers_sent(e, 11, 1, 7000);
	store_enrichers_sent(e, 12, 1, 7000);
	assert_int_equal(store_enrichers_credits(e, 1100), 0);
	char *h2[] = {"10:1", "11:1", "12:1", NULL};
	beat(e, "a", 1, 4, 3, h2, 1200); /* proven 3: cap 4 */
	assert_int_equal(store_enrichers_credits(e, 1200), 1);
	/* a finished 10 (result kept until the store has it): still held, not busy */
	char *h3[] = {"10:1:done", "11:1", "12:1", NULL};
	beat(e, "a", 1, 4, 2, h3, 1300);
	assert_int_equal(store_enrichers_credits(e, 1300), 2);
	kept(e, 1300, "{\"10\",\"11\",\"12\"}", "{\"1\",\"1\",\"1\"}");
	store_enrichers_free(e);
}

/* A fast backend finishes each job before the next arrives: it is never seen running
 * more than one, yet the finished jobs it still lists (results kept) earn its slots. */
static void test_fast_enricher_earns_its_slots(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	beat(e, "a", 1, 8, 0, NULL, 0);
	char *held[8] = {0};
	char items[6][16];
	for (int i = 0; i < 6; i++) {
		store_enrichers_sent(e, 100 + i, 1, 7000);
		snprintf(items[i], sizeof(items[i]), "%d:1:done", 100 + i);
		held[i] = items[i];
		beat(e, "a", 1, 8, 0, held, 10 + i); /* taken and finished at once */
	}
	assert_int_equal(store_enrichers_in_transit(e, 20), 0);
	assert_int_equal(store_enrichers_credits(e, 20), 7); /* proven 6: cap 7, none busy */
	store_enrichers_free(e);
}

static void test_binding_and_loss(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	beat(e, "a", 1, 2, 0, NULL, 0);
	beat(e, "b", 2, 2, 0, NULL, 0);
	store_enrichers_sent(e, 20, 3, 6000);
	store_enrichers_sent(e, 21, 1, 6000);
	char *ha[] = {"20:3", NULL};
	beat(e, "a", 1, 2, 1, ha, 100);
	/* b claims a's job too: first claim wins */
	char *hb[] = {"20:3", "21:1", NULL};
	beat(e, "b", 2, 2, 2, hb, 200);
	assert_true(store_enrichers_result_ok(e, 20, 3, "a"));
	assert_false(store_enrichers_result_ok(e, 20, 3, "b"));
	assert_true(store_enrichers_result_ok(e, 21, 1, "b"));
	assert_true(store_enrichers_result_ok(e, 99, 1, "x")); /* unknown: the token decides */
	kept(e, 200, "{\"20\",\"21\"}", "{\"3\",\"1\"}");
	/* a restarts (new epoch): what it held is lost at once */
	assert_true(beat(e, "a", 7, 2, 0, NULL, 300));
	kept(e, 300, "{\"21\"}", "{\"1\"}");
	/* b goes silent: forgotten after the expiry, and its jobs with it */
	beat(e, "a", 7, 2, 0, NULL, 5100);
	kept(e, 5100, "{\"21\"}", "{\"1\"}");
	kept(e, 5300, "{}", "{}");
	/* a job nobody reports is kept until its pickup deadline */
	store_enrichers_sent(e, 30, 1, 6000);
	kept(e, 6000, "{\"30\"}", "{\"1\"}");
	beat(e, "a", 7, 2, 0, NULL, 6001);
	kept(e, 6001, "{}", "{}");
	store_enrichers_free(e);
}

/* A result received keeps its job until the applier settles it, though its enricher
 * no longer lists the job (released it, or stopped) or has gone silent. */
static void test_result_waiting_keeps_its_job(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	store_enrichers_sent(e, 40, 2, 9000);
	char *h[] = {"40:2", NULL};
	beat(e, "a", 1, 2, 1, h, 100);
	kept(e, 100, "{\"40\"}", "{\"2\"}");
	store_enrichers_result_queued(e, 40, 2);
	store_enrichers_result_queued(e, 40, 2); /* sent again: two to settle */
	beat(e, "a", 1, 0, 0, NULL, 200); /* its last ready message: holds nothing */
	kept(e, 200, "{\"40\",\"40\"}", "{\"2\",\"2\"}");
	kept(e, 6000, "{\"40\",\"40\"}", "{\"2\",\"2\"}"); /* a is silent: gone */
	store_enrichers_result_settled(e, 40, 2);
	kept(e, 6000, "{\"40\"}", "{\"2\"}");
	store_enrichers_result_settled(e, 41, 2); /* not waiting: changes nothing */
	store_enrichers_result_settled(e, 40, 1);
	kept(e, 6000, "{\"40\"}", "{\"2\"}");
	store_enrichers_result_settled(e, 40, 2);
	kept(e, 6000, "{}", "{}");
	/* beyond the bound, results are not tracked, and settling them is harmless */
	for (int i = 0; i < STORE_PENDING_MAX + 5; i++)
		store_enrichers_result_queued(e, 100 + i, 1);
	for (int i = STORE_PENDING_MAX + 4; i >= 0; i--)
		store_enrichers_result_settled(e, 100 + i, 1);
	kept(e, 6000, "{}", "{}");
	store_enrichers_free(e);
}

static void test_clamp_and_snapshot(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	char *bad[] = {"x", "1", "1:0", "-1:2", "3:4:later", "5:6:done", NULL};
	beat(e, "a", 1, -3, -1, bad, 0);
	assert_int_equal(store_enrichers_credits(e, 0), 0);
	kept(e, 0, "{\"5\"}", "{\"6\"}");
	beat(e, "b", 2, 1000000, 0, NULL, 0);
	beat(e, "c", 3, 2, 1, NULL, 0);
	assert_false(beat(e, "", 4, 2, 0, NULL, 0));
	assert_false(beat(e, NULL, 4, 2, 0, NULL, 0));
	long active, slots, busy;
	char backends[256];
	store_enrichers_snapshot(e, 0, &active, &slots, &busy, backends, sizeof(backends));
	assert_int_equal(active, 3);
	assert_int_equal(slots, 4096 + 2);
	assert_int_equal(busy, 1);
	assert_string_equal(backends, "{\"rules\"}");
	store_enrichers_free(e);
}

static void test_bounded_table(void **state)
{
	(void)state;
	store_enrichers *e = store_enrichers_new(5000);
	char id[32];
	for (int i = 0; i < STORE_ENRICHERS_MAX + 50; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		beat(e, id, i + 1, 1, 0, NULL, 0);
	}
	long active, slots, busy;
	char backends[64];
	store_enrichers_snapshot(e, 0, &active, &slots, &busy, backends, sizeof(backends));
	assert_int_equal(active, STORE_ENRICHERS_MAX);
	assert_int_equal(store_enrichers_credits(e, 0), 1); /* none has earned more */
	store_enrichers_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credit_is_earned),
		cmocka_unit_test(test_fast_enricher_earns_its_slots),
		cmocka_unit_test(test_binding_and_loss),
		cmocka_unit_test(test_result_waiting_keeps_its_job),
		cmocka_unit_test(test_clamp_and_snapshot),
		cmocka_unit_test(test_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
