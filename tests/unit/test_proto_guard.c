/* test_proto_guard: no stranger can stop a listener. Each listening kind, over ipc://
 * and tcp://, gets raw connect-and-closes, resets, garbage and half handshakes, then a
 * real peer must exchange a message with it (nng 1.5.2 bug #1518, proto_guard.h). With
 * several listeners in the process (the store has four), the broken one is reopened and
 * only it; and once a peer has left, the guard's checks stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define DEADLINE_MS 10000 /* guard tick + check + the dialer's reconnect backoff, loaded */

/* A raw stream connection to url's address, or -1. */
static int raw_connect_once(const char *url)
{
	int fd = -1;
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", url + 6);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			close(fd);
			fd = -1;
		}
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)atoi(strrchr(url, ':') + 1));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

/* The same, retried for a while: while the guard reopens a listener, there is a
 * moment when nobody listens. */
static int raw_connect(const char *url)
{
	int fd = -1;
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	while ((fd = raw_connect_once(url)) < 0 && tr_mono_ms() < until) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL); /* retrying a refused connect, bounded by until */
	}
	return fd;
}

/* What strangers do. Half-open connections are returned in held[] (closed later). */
static void abuse(const char *url, int held[2])
{
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\xff\xfe\x00\x01garbage";
	for (int i = 0; i < 5; i++) { /* connect and close */
		int fd = raw_connect(url);
		assert_true(fd >= 0);
		close(fd);
	}
	int fd = raw_connect(url); /* reset instead of a clean close */
	assert_true(fd >= 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	fd = raw_connect(url); /* garbage, then close */
	assert_true(fd >= 0);
	assert_true(send(fd, garbage, sizeof garbage, MSG_NOSIGNAL) > 0);
	close(fd);
	held[0] = raw_connect(url); /* half a handshake, kept open */
	assert_true(held[0] >= 0);
	assert_int_equal(send(held[0], "\0SP\0", 4, MSG_NOSIGNAL), 4);
	held[1] = raw_connect(url); /* a wrong header, kept open */
	assert_true(held[1] >= 0);
	assert_int_equal(send(held[1], "\0SQ\0\0\0\0\0", 8, MSG_NOSIGNAL), 8);
	for (int i = 0; i < 5; i++) { /* and once more, after the others */
		fd = raw_connect(url);
		assert_true(fd >= 0);
		close(fd);
	}
}

/* A real peer dials the listener of the kind and one message must go through. */
static void exchange(proto_sock_kind kind, nng_socket lst, const char *url)
{
	static const proto_sock_kind peer_of[] = {
		[PROTO_SOCK_REP] = PROTO_SOCK_REQ, [PROTO_SOCK_PUB] = PROTO_SOCK_SUB,
		[PROTO_SOCK_PUSH] = PROTO_SOCK_PULL, [PROTO_SOCK_PULL] = PROTO_SOCK_PUSH};
	nng_socket peer;
	assert_int_equal(proto_sock_dial(peer_of[kind], url, &peer), TR_OK);
	bool sender_is_listener = kind == PROTO_SOCK_PUB || kind == PROTO_SOCK_PUSH;
	nng_socket tx = sender_is_listener ? lst : peer, rx = sender_is_listener ? peer : lst;
	nng_socket_set_ms(tx, NNG_OPT_SENDTIMEO, 200);
	nng_socket_set_ms(rx, NNG_OPT_RECVTIMEO, 200);
	nng_socket_set_ms(peer, NNG_OPT_RECVTIMEO, 500);
	bool done = false;
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	while (!done && tr_mono_ms() < until) {
		/* Send again until one arrives: PUB drops while the SUB is not attached, and
		 * a message sent into a pipe the broken listener never accepted is lost when
		 * the guard reopens it (as a store restart would lose it). */
		int rv = nng_send(tx, "ping", 5, 0);
		if (rv != 0 && rv != NNG_ETIMEDOUT && rv != NNG_EAGAIN)
			fail_msg("send on %s: %s", url, nng_strerror(rv));
		char *buf = NULL;
		size_t len = 0;
		if (nng_recv(rx, &buf, &len, NNG_FLAG_ALLOC) != 0)
			continue;
		done = len == 5 && memcmp(buf, "ping", 5) == 0;
		nng_free(buf, len);
		if (done && kind == PROTO_SOCK_REP) {
			/* the reply must come back too; a reply to a request the REQ has
			 * since replaced is dropped by the REQ, so then try again */
			assert_int_equal(nng_send(lst, "pong", 5, 0), 0);
			done = nng_recv(peer, &buf, &len, NNG_FLAG_ALLOC) == 0;
			if (done) {
				assert_memory_equal(buf, "pong", 5);
				nng_free(buf, len);
			}
		}
	}
	if (!done)
		fail_msg("no message through the %s listener on %s after strangers",
			 kind == PROTO_SOCK_REP    ? "rep"
			 : kind == PROTO_SOCK_PUB  ? "pub"
			 : kind == PROTO_SOCK_PUSH ? "push"
						   : "pull",
			 url);
	nng_close(peer);
}

/* Waits for two rounds of the guard after the strangers: by then it has looked at the
 * listener and reopened it if they broke it. The real peer comes after that (a peer
 * that dialed while it was broken keeps a pipe nng never accepted until the reopening
 * closes it, and nng 1.5.2 can hang closing such a socket). */
static void settle(void)
{
	unsigned long from = proto_guard_ticks();
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	while (proto_guard_ticks() < from + 2 && tr_mono_ms() < until) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL); /* polling the guard's round counter, bounded by until */
	}
	assert_true(proto_guard_ticks() >= from + 2);
}

static int free_tcp_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void run_kind(proto_sock_kind kind, bool tcp)
{
	char dir[32] = "/tmp/tpg-XXXXXX", url[96];
	assert_non_null(mkdtemp(dir));
	if (tcp)
		snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_tcp_port());
	else
		snprintf(url, sizeof url, "ipc://%s/l.ipc", dir);
	nng_socket lst;
	assert_int_equal(proto_sock_listen(kind, url, &lst), TR_OK);
	int held[4];
	abuse(url, held);
	settle();
	exchange(kind, lst, url);
	abuse(url, held + 2); /* a second round, on the listener that may have been reopened */
	settle();
	exchange(kind, lst, url);
	for (int i = 0; i < 4; i++)
		close(held[i]);
	proto_guard_forget(lst); /* never close a socket the guard may be reopening */
	nng_close(lst);
	rmdir(dir);
}

static void test_rep_ipc(void **state) { (void)state; run_kind(PROTO_SOCK_REP, false); }
static void test_pub_ipc(void **state) { (void)state; run_kind(PROTO_SOCK_PUB, false); }
static void test_pull_ipc(void **state) { (void)state; run_kind(PROTO_SOCK_PULL, false); }
static void test_push_ipc(void **state) { (void)state; run_kind(PROTO_SOCK_PUSH, false); }
static void test_rep_tcp(void **state) { (void)state; run_kind(PROTO_SOCK_REP, true); }
static void test_pub_tcp(void **state) { (void)state; run_kind(PROTO_SOCK_PUB, true); }
static void test_pull_tcp(void **state) { (void)state; run_kind(PROTO_SOCK_PULL, true); }
static void test_push_tcp(void **state) { (void)state; run_kind(PROTO_SOCK_PUSH, true); }

static void wait_ticks(unsigned long n)
{
	unsigned long from = proto_guard_ticks();
	int64_t until = tr_mono_ms() + DEADLINE_MS + (long)n * PROTO_GUARD_TICK_MS;
	while (proto_guard_ticks() < from + n && tr_mono_ms() < until) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL); /* polling the guard's round counter, bounded by until */
	}
	assert_true(proto_guard_ticks() >= from + n);
}

static atomic_int pipes_added, pipes_removed;

static void count_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	atomic_fetch_add(ev == NNG_PIPE_EV_ADD_POST ? &pipes_added : &pipes_removed, 1);
}

/* Two listeners: strangers break the older, then the newer; each must be reopened, and
 * a peer of the one not broken must keep its connection. (nng 1.5.2's
 * nng_stat_find_listener returns the oldest listener's statistics whatever the one asked
 * for: a guard reading through it never saw the newer one break, and reopened a healthy
 * newer one each time the older had an error.) */
static void test_each_of_two_listeners(void **state)
{
	(void)state;
	char dir[32] = "/tmp/tpg-XXXXXX", older[96], newer[96];
	assert_non_null(mkdtemp(dir));
	snprintf(older, sizeof older, "ipc://%s/older.ipc", dir);
	snprintf(newer, sizeof newer, "ipc://%s/newer.ipc", dir);
	nng_socket lo, ln, peer;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, older, &lo), TR_OK);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, newer, &ln), TR_OK);
	int held[4];

	/* a peer of the newer, connected before the older is broken */
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, newer, &peer), TR_OK);
	atomic_store(&pipes_added, 0);
	atomic_store(&pipes_removed, 0);
	assert_int_equal(nng_pipe_notify(peer, NNG_PIPE_EV_ADD_POST, count_pipe, NULL), 0);
	assert_int_equal(nng_pipe_notify(peer, NNG_PIPE_EV_REM_POST, count_pipe, NULL), 0);
	exchange(PROTO_SOCK_PULL, ln, newer);
	nng_socket_set_ms(peer, NNG_OPT_SENDTIMEO, DEADLINE_MS);
	assert_int_equal(nng_send(peer, "p", 2, 0), 0); /* it is connected */
	char *buf = NULL;
	size_t len = 0;
	nng_socket_set_ms(ln, NNG_OPT_RECVTIMEO, DEADLINE_MS);
	assert_int_equal(nng_recv(ln, &buf, &len, NNG_FLAG_ALLOC), 0);
	nng_free(buf, len);
	int removed = atomic_load(&pipes_removed);

	abuse(older, held);
	settle();
	exchange(PROTO_SOCK_PULL, lo, older);
	wait_ticks(3);
	assert_int_equal(atomic_load(&pipes_removed), removed); /* the newer was left alone */

	abuse(newer, held + 2);
	settle();
	exchange(PROTO_SOCK_PULL, ln, newer);
	for (int i = 0; i < 4; i++)
		close(held[i]);
	proto_sock_close(peer);
	proto_sock_close(ln);
	proto_sock_close(lo);
	rmdir(dir);
}

/* A peer that leaves counts as an error in nng's statistics and makes the guard check
 * the listener; the check's own close counts too, and must not call for another check,
 * and so on every tick. */
static void test_checks_stop_after_a_peer_left(void **state)
{
	(void)state;
	char dir[32] = "/tmp/tpg-XXXXXX", url[96];
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof url, "ipc://%s/l.ipc", dir);
	nng_socket lst;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, url, &lst), TR_OK);
	atomic_store(&pipes_added, 0);
	assert_int_equal(nng_pipe_notify(lst, NNG_PIPE_EV_ADD_POST, count_pipe, NULL), 0);
	exchange(PROTO_SOCK_PULL, lst, url); /* a peer comes, sends and leaves */
	wait_ticks(5);                       /* the guard has looked (a check or two) */
	int added = atomic_load(&pipes_added);
	wait_ticks(10);
	assert_int_equal(atomic_load(&pipes_added), added); /* no check since */
	proto_sock_close(lst);
	rmdir(dir);
}

/* The guard is what keeps them accepting: over ipc:// a connect-and-close does break
 * nng 1.5.2's listener, and the guard reopened it. */
static void test_guard_did_the_work(void **state)
{
	(void)state;
	assert_true(proto_guard_heals() > 0);
}

int main(void)
{
	tr_log_init("test_proto_guard", TR_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rep_ipc),  cmocka_unit_test(test_pub_ipc),
		cmocka_unit_test(test_pull_ipc), cmocka_unit_test(test_push_ipc),
		cmocka_unit_test(test_rep_tcp),  cmocka_unit_test(test_pub_tcp),
		cmocka_unit_test(test_pull_tcp), cmocka_unit_test(test_push_tcp),
		cmocka_unit_test(test_each_of_two_listeners),
		cmocka_unit_test(test_checks_stop_after_a_peer_left),
		cmocka_unit_test(test_guard_did_the_work),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop();
	nng_fini();
	return rc;
}
