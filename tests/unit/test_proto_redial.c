/* test_proto_redial: a dialer that nng 1.5.2 stops for good is started again by the
 * guard (proto_guard.h), also beside an older connected dialer, and a healthy one that
 * cannot reach its peer is left alone.
 *
 * The fault is made exactly: this program defines sendmsg(), which libnng's calls reach
 * before libc's, and fails the dialer's SP handshake write once with EPIPE (what a peer
 * that closed just then gives). nng 1.5.2 turns that into NNG_ECLOSED and its dialer
 * never redials; only the guard brings the connection back. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>
#include <nng/nng.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define PUSH0 0x50 /* nng's protocol number of push0, in the SP header */
/* the guard's stall time, a tick, the reconnect backoff and a loaded machine's slack */
#define DEADLINE_MS (PROTO_GUARD_DIAL_STALL_MS + 10000)

static atomic_int fail_proto = -1; /* the next SP header of this protocol fails */
static atomic_int failed;

typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
static _Atomic(sendmsg_fn) real_sendmsg; /* the next definition: libc's (or a sanitizer's) */

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	sendmsg_fn real = atomic_load(&real_sendmsg);
	if (!real) {
		real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
		atomic_store(&real_sendmsg, real);
	}
	int want = atomic_load(&fail_proto);
	if (want >= 0 && m->msg_iovlen == 1 && m->msg_iov[0].iov_len == 8) {
		const unsigned char *h = m->msg_iov[0].iov_base;
		int proto = (h[4] << 8) | h[5];
		if (h[0] == 0 && h[1] == 'S' && h[2] == 'P' && h[3] == 0 && proto == want &&
		    atomic_compare_exchange_strong(&fail_proto, &want, -1)) {
			atomic_fetch_add(&failed, 1);
			errno = EPIPE;
			return -1;
		}
	}
	return real(fd, m, flags);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* polling a condition, bounded by its deadline */
}

static void make_url(char *url, size_t len, char *dir, size_t dirlen)
{
	snprintf(dir, dirlen, "/tmp/trredial-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, len, "ipc://%s/s.ipc", dir);
}

static void remove_dir(const char *dir)
{
	char path[128];
	snprintf(path, sizeof path, "%s/s.ipc", dir);
	unlink(path);
	rmdir(dir);
}

/* elder: an older dialer, connected, beside the one that stops (nng 1.5.2's
 * nng_stat_find_dialer returns the oldest dialer's statistics whatever the one asked
 * for: a guard reading through it saw the elder's pipe and never restarted the other) */
static void run_stopped_dialer(bool elder)
{
	char dir[64], url[128], edir[64], eurl[128];
	make_url(url, sizeof url, dir, sizeof dir);
	nng_socket pull, push, epull, epush;
	if (elder) {
		make_url(eurl, sizeof eurl, edir, sizeof edir);
		assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, eurl, &epull), TR_OK);
		assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, eurl, &epush), TR_OK);
		assert_int_equal(nng_socket_set_ms(epush, NNG_OPT_SENDTIMEO, DEADLINE_MS), 0);
		assert_int_equal(nng_socket_set_ms(epull, NNG_OPT_RECVTIMEO, DEADLINE_MS), 0);
		/* received: its handshake is done (a PUSH takes a message before it has a pipe),
		 * so the fault below can only hit the other dialer's */
		assert_int_equal(nng_send(epush, "e", 1, 0), 0);
		char *buf = NULL;
		size_t len = 0;
		assert_int_equal(nng_recv(epull, &buf, &len, NNG_FLAG_ALLOC), 0);
		nng_free(buf, len);
	}
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, url, &pull), TR_OK);
	assert_int_equal(nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 200), 0);
	unsigned long heals = proto_guard_heals();

	int failed0 = atomic_load(&failed);
	atomic_store(&fail_proto, PUSH0);
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, url, &push), TR_OK);
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	while (atomic_load(&failed) == failed0 && tr_mono_ms() < until)
		pause_ms(10);
	assert_int_equal(atomic_load(&failed), failed0 + 1); /* the fault happened, once */

	/* a message crosses: only a restarted dialer can carry it */
	bool got = false;
	while (!got && tr_mono_ms() < until) {
		if (nng_send(push, "x", 1, NNG_FLAG_NONBLOCK) != 0) {
			pause_ms(50);
			continue;
		}
		char *buf = NULL;
		size_t len = 0;
		got = nng_recv(pull, &buf, &len, NNG_FLAG_ALLOC) == 0;
		if (got) {
			assert_int_equal(len, 1);
			nng_free(buf, len);
		}
	}
	assert_true(got);
	assert_true(proto_guard_heals() > heals);
	proto_sock_close(push);
	proto_sock_close(pull);
	remove_dir(dir);
	if (elder) {
		proto_sock_close(epush);
		proto_sock_close(epull);
		remove_dir(edir);
	}
}

static void test_stopped_dialer_is_restarted(void **state)
{
	(void)state;
	run_stopped_dialer(false);
}

static void test_stopped_dialer_beside_a_connected_one_is_restarted(void **state)
{
	(void)state;
	run_stopped_dialer(true);
}

/* A dialer whose peer is not there keeps trying by itself: the guard leaves it be. */
static void test_dialer_without_peer_is_left_alone(void **state)
{
	(void)state;
	char dir[64], url[128];
	make_url(url, sizeof url, dir, sizeof dir);
	nng_socket push;
	unsigned long heals = proto_guard_heals();
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, url, &push), TR_OK);
	unsigned long ticks = proto_guard_ticks();
	/* watched for longer than a stall, in guard ticks (not a sleep that must be enough) */
	unsigned long need = PROTO_GUARD_DIAL_STALL_MS / PROTO_GUARD_TICK_MS + 5;
	int64_t until = tr_mono_ms() + DEADLINE_MS + PROTO_GUARD_DIAL_STALL_MS;
	while (proto_guard_ticks() < ticks + need && tr_mono_ms() < until)
		pause_ms(50);
	assert_true(proto_guard_ticks() >= ticks + need);
	assert_int_equal(proto_guard_heals(), heals);
	proto_sock_close(push);
	remove_dir(dir);
}

int main(void)
{
	tr_log_init("test_proto_redial", TR_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stopped_dialer_is_restarted),
		cmocka_unit_test(test_stopped_dialer_beside_a_connected_one_is_restarted),
		cmocka_unit_test(test_dialer_without_peer_is_left_alone),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop();
	nng_fini();
	return rc;
}
