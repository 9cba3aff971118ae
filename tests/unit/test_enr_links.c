/* test_enr_links: the split of the free slots among the connected stores (the sum is
 * the free slots, a store away gets nothing, the odd slots rotate so no connected store
 * starves), the check of the TRIAGE_JOBS_URL / TRIAGE_RESULTS_URL lists, and the flush
 * at exit (on real nng sockets: nothing the links took is lost when they close). */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>

#include "enr_links.h"
#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_time.h"

static long sum(const long *v, size_t n)
{
	long s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

static size_t popcount(uint32_t m, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (m >> i) & 1u;
	return c;
}

/* Every mask, free count and rotation on up to 5 links: the shares add up to the free
 * slots (when a store is connected), differ by at most one, and are 0 for links away. */
static void test_split_sums_and_away_gets_nothing(void **state)
{
	(void)state;
	long shares[ENR_LINKS_MAX];
	for (size_t n = 1; n <= 5; n++) {
		for (uint32_t mask = 0; mask < (1u << n); mask++) {
			size_t live = popcount(mask, n);
			for (long f = 0; f <= 11; f++) {
				for (uint64_t rot = 0; rot < 7; rot++) {
					enr_links_split(f, mask, n, rot, shares);
					assert_int_equal(sum(shares, n), live ? f : 0);
					for (size_t i = 0; i < n; i++) {
						if (!((mask >> i) & 1u)) {
							assert_int_equal(shares[i], 0);
							continue;
						}
						long base = f / (long)live;
						assert_true(shares[i] == base || shares[i] == base + 1);
					}
				}
			}
		}
	}
}

/* Over any `live` consecutive rotations, every connected link gets the odd slots
 * exactly `extra` times: with one free slot and two stores it alternates. */
static void test_split_rotation_starves_no_one(void **state)
{
	(void)state;
	long shares[ENR_LINKS_MAX];
	enr_links_split(1, 0x3, 2, 0, shares);
	assert_int_equal(shares[0], 1);
	assert_int_equal(shares[1], 0);
	enr_links_split(1, 0x3, 2, 1, shares);
	assert_int_equal(shares[0], 0);
	assert_int_equal(shares[1], 1);

	const uint32_t masks[] = {0x1, 0x5, 0x7, 0x1a, 0xf, 0x15};
	for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
		size_t n = 5, live = popcount(masks[m], n);
		for (long f = 1; f <= 9; f++) {
			long extra = f % (long)live, base = f / (long)live;
			for (uint64_t start = 0; start < 4; start++) {
				long got[ENR_LINKS_MAX] = {0};
				for (uint64_t r = start; r < start + live; r++) {
					enr_links_split(f, masks[m], n, r, shares);
					for (size_t i = 0; i < n; i++)
						got[i] += shares[i] - ((masks[m] >> i) & 1u ? base : 0);
				}
				for (size_t i = 0; i < n; i++)
					assert_int_equal(got[i], (masks[m] >> i) & 1u ? extra : 0);
			}
		}
	}
}

static void test_split_nothing_to_give(void **state)
{
	(void)state;
	long shares[3] = {7, 7, 7};
	enr_links_split(0, 0x7, 3, 5, shares);
	assert_int_equal(sum(shares, 3), 0);
	shares[0] = shares[1] = shares[2] = 7;
	enr_links_split(-2, 0x7, 3, 5, shares);
	assert_int_equal(sum(shares, 3), 0);
	shares[0] = shares[1] = shares[2] = 7;
	enr_links_split(4, 0, 3, 5, shares); /* no store connected */
	assert_int_equal(sum(shares, 3), 0);
	/* bits beyond n are not links */
	enr_links_split(4, 0x1 | 0x10, 1, 3, shares);
	assert_int_equal(shares[0], 4);
}

static void expect_refused(const char *jobs, const char *results, const char *word)
{
	char err[300] = "";
	assert_int_equal(enr_links_check(jobs, results, err, sizeof err), TR_ERR_INVALID);
	if (!strstr(err, word))
		fail_msg("jobs '%s', results '%s': error '%s' should say '%s'", jobs, results, err,
			 word);
}

static void test_check_lists(void **state)
{
	(void)state;
	char err[300];
	assert_int_equal(enr_links_check("ipc:///a/jobs", "ipc:///a/results", err, sizeof err),
			 TR_OK);
	assert_int_equal(enr_links_check("tcp://a:1, tcp://b:1", "tcp://a:2,tcp://b:2 ", err,
					 sizeof err),
			 TR_OK);
	expect_refused("tcp://a:1,tcp://b:1", "tcp://a:2", "TRIAGE_RESULTS_URL names 1");
	expect_refused("tcp://a:1", "tcp://a:2,tcp://b:2", "TRIAGE_JOBS_URL names 1");
	expect_refused("tcp://a:1,,tcp://c:1", "tcp://a:2,tcp://b:2,tcp://c:2",
		       "TRIAGE_JOBS_URL: address 2 of 3 is empty");
	expect_refused("tcp://a:1,tcp://b:1", "tcp://a:2, ", "TRIAGE_RESULTS_URL: address 2");
	expect_refused("", "", "TRIAGE_JOBS_URL: address 1");
	expect_refused("tcp://a:1,", "tcp://a:2,", "empty");

	char jobs[1024] = "", results[1024] = "";
	for (int i = 0; i <= ENR_LINKS_MAX; i++) {
		snprintf(jobs + strlen(jobs), sizeof jobs - strlen(jobs), "%stcp://h:%d", i ? "," : "",
			 1000 + i);
		snprintf(results + strlen(results), sizeof results - strlen(results), "%stcp://h:%d",
			 i ? "," : "", 2000 + i);
	}
	expect_refused(jobs, results, "at most");
	*strrchr(jobs, ',') = '\0';
	*strrchr(results, ',') = '\0';
	assert_int_equal(enr_links_check(jobs, results, err, sizeof err), TR_OK);

	char longurl[PROTO_URL_MAX + 16];
	memset(longurl, 'x', sizeof longurl - 1);
	memcpy(longurl, "tcp://", 6);
	longurl[sizeof longurl - 1] = '\0';
	expect_refused(longurl, "tcp://a:2", "longer than");
}

/* The store's side of the flush test: receives until N messages or a receive times
 * out, checking their order. */
typedef struct {
	nng_socket sock;
	uint32_t got;
	bool in_order;
} flush_store;

enum { FLUSH_N = 3000 };

static void *flush_store_run(void *arg)
{
	flush_store *fs = arg;
	fs->in_order = true;
	while (fs->got < FLUSH_N) {
		nng_msg *m = NULL;
		uint32_t v = UINT32_MAX;
		if (nng_recvmsg(fs->sock, &m, 0) != 0)
			break;
		if (nng_msg_trim_u32(m, &v) != 0 || v != fs->got)
			fs->in_order = false;
		fs->got++;
		nng_msg_free(m);
	}
	return NULL;
}

/* Messages sent as fast as the links take them, then the links closed at once after
 * the flush: the store receives every one, in order. Without the flush, closing drops
 * what the socket still queues (its send buffer holds 128 messages). */
static void test_flush_then_close_loses_nothing(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_enr_links_XXXXXX", url[128];
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof url, "ipc://%s/results.ipc", dir);
	flush_store fs = {.got = 0};
	assert_int_equal(nng_pull0_open(&fs.sock), 0);
	assert_int_equal(nng_listen(fs.sock, url, NULL, 0), 0);
	assert_int_equal(nng_socket_set_ms(fs.sock, NNG_OPT_RECVTIMEO, 10000), 0);
	pthread_t reader;
	assert_int_equal(pthread_create(&reader, NULL, flush_store_run, &fs), 0);
	enr_links *l = NULL;
	assert_int_equal(enr_links_open("ipc:///tmp/test_enr_links_unused.ipc", url, 10000, &l),
			 TR_OK);
	for (uint32_t i = 0; i < FLUSH_N; i++) {
		nng_msg *m = NULL;
		assert_int_equal(nng_msg_alloc(&m, 0), 0);
		assert_int_equal(nng_msg_append_u32(m, i), 0);
		assert_int_equal(enr_links_send(l, 0, m), TR_OK);
	}
	assert_int_equal(enr_links_flush(l, tr_mono_ms() + 20000), 0);
	enr_links_free(l);
	pthread_join(reader, NULL);
	assert_int_equal(fs.got, FLUSH_N);
	assert_true(fs.in_order);
	nng_close(fs.sock);
	unlink(url + strlen("ipc://"));
	rmdir(dir);

	/* no store connected: nothing can leave, and the flush does not wait for it */
	assert_int_equal(enr_links_open("ipc:///tmp/test_enr_links_unused.ipc", url, 100, &l),
			 TR_OK);
	int64_t t0 = tr_mono_ms();
	assert_int_equal(enr_links_flush(l, t0 + 20000), 0);
	assert_true(tr_mono_ms() - t0 < 10000);
	enr_links_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_sums_and_away_gets_nothing),
		cmocka_unit_test(test_split_rotation_starves_no_one),
		cmocka_unit_test(test_split_nothing_to_give),
		cmocka_unit_test(test_check_lists),
		cmocka_unit_test(test_flush_then_close_loses_nothing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop(); /* the dialers' and listeners' guard thread */
	return rc;
}
