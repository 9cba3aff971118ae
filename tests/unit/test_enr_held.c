/* test_enr_held: the jobs an enricher holds, for its ready messages, and the kept
 * results it sends again when a store comes back (enricher/enr_held.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "enr_held.h"

static void *result(const char *text, size_t *len)
{
	*len = strlen(text);
	void *buf = malloc(*len);
	assert_non_null(buf);
	memcpy(buf, text, *len);
	return buf;
}

static void test_list_running_and_done(void **state)
{
	(void)state;
	enr_held *h = enr_held_new(4);
	assert_non_null(h);
	char items[8][PROTO_HELD_ITEM_MAX + 1];
	char *ptrs[8];
	enr_held_take(h, 7, 1);
	enr_held_take(h, 8, 2);
	size_t len;
	void *buf = result("r7", &len);
	enr_held_done(h, 7, 1, buf, len, 100);
	assert_int_equal(enr_held_list(h, 100, items, ptrs, 8), 2);
	bool first = strcmp(ptrs[0], "7:1:done") == 0; /* in no particular order */
	assert_string_equal(ptrs[first ? 0 : 1], "7:1:done");
	assert_string_equal(ptrs[first ? 1 : 0], "8:2");
	assert_int_equal(enr_held_received(h), 2);
	/* a finished one is forgotten after the keep time */
	assert_int_equal(enr_held_list(h, 100 + ENR_HELD_KEEP_MS + 1, items, ptrs, 8), 1);
	enr_held_free(h);
}

/* Only the results finished by the time the pipe came up are sent again: those
 * finished later went out on the live pipe already. */
static void test_resend_only_what_may_be_lost(void **state)
{
	(void)state;
	nng_socket push, pull;
	assert_int_equal(nng_pull0_open(&pull), 0);
	assert_int_equal(nng_push0_open(&push), 0);
	assert_int_equal(nng_listen(pull, "inproc://held", NULL, 0), 0);
	assert_int_equal(nng_dial(push, "inproc://held", NULL, 0), 0);
	nng_socket_set_ms(push, NNG_OPT_SENDTIMEO, 1000);
	nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 1000);
	enr_held *h = enr_held_new(4);
	size_t len;
	enr_held_take(h, 1, 1);
	enr_held_take(h, 2, 1);
	enr_held_take(h, 3, 1);
	const char *texts[] = {"before", "at", "after"};
	const int64_t done_ms[] = {1000, 2000, 2001};
	for (int i = 0; i < 3; i++) {
		void *buf = result(texts[i], &len);
		enr_held_done(h, i + 1, 1, buf, len, done_ms[i]);
	}
	assert_int_equal(enr_held_resend(h, push, 2000), 2);
	const char *want[] = {"before", "at"};
	for (int i = 0; i < 2; i++) {
		char *got = NULL;
		size_t n = 0;
		assert_int_equal(nng_recv(pull, &got, &n, NNG_FLAG_ALLOC), 0);
		assert_int_equal(n, strlen(want[i]));
		assert_memory_equal(got, want[i], n);
		nng_free(got, n);
	}
	assert_int_equal(enr_held_resend(h, push, 999), 0);
	enr_held_free(h);
	nng_close(push);
	nng_close(pull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_running_and_done),
		cmocka_unit_test(test_resend_only_what_may_be_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
