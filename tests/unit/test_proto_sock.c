/* test_proto_sock: the pipeline's sockets over real ipc:// — options, every pattern,
 * late listeners, malformed and oversized messages dropped, stale socket files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "proto_guard.h"
#include "proto_sock.h"
#include <nng/protocol/pipeline0/push.h>
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define DEADLINE_MS 5000 /* how long a test waits for something that must happen */

typedef struct {
	char dir[32];
	char url[96];
	char path[80];
} fixture;

/* A private directory per test; the socket sits two levels down, not yet created. */
static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tps-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/a/b/s.ipc", fx->dir);
	snprintf(fx->url, sizeof(fx->url), "ipc://%s", fx->path);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	char p[200];
	unlink(fx->path);
	snprintf(p, sizeof(p), "%s/a/b", fx->dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a", fx->dir);
	rmdir(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void set_recv_timeout(nng_socket s, int ms)
{
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms), 0);
}

static proto_msg heartbeat(const char *id, int busy)
{
	proto_msg m = {.type = PROTO_HEARTBEAT};
	m.u.heartbeat.enricher_id = (char *)id;
	m.u.heartbeat.slots = 4;
	m.u.heartbeat.busy = busy;
	return m;
}

static void test_options(void **state)
{
	fixture *fx = *state;
	static const proto_sock_kind kinds[] = {PROTO_SOCK_REP, PROTO_SOCK_REQ, PROTO_SOCK_PUB,
						PROTO_SOCK_SUB, PROTO_SOCK_PUSH, PROTO_SOCK_PULL};
	for (size_t i = 0; i < 6; i++) {
		nng_socket s;
		size_t sz = 0;
		nng_duration d = 0;
		assert_int_equal(proto_sock_dial(kinds[i], fx->url, &s), TR_OK);
		assert_int_equal(nng_socket_get_size(s, NNG_OPT_RECVMAXSZ, &sz), 0);
		assert_int_equal(sz, PROTO_MAX_MSG + 64); /* room for REQ/REP headers */
		assert_int_equal(nng_socket_get_ms(s, NNG_OPT_RECONNMINT, &d), 0);
		assert_int_equal(d, 50);
		assert_int_equal(nng_socket_get_ms(s, NNG_OPT_RECONNMAXT, &d), 0);
		assert_int_equal(d, 2000);
		if (kinds[i] == PROTO_SOCK_REQ) {
			assert_int_equal(nng_socket_get_ms(s, "req:resend-time", &d), 0);
			assert_int_equal(d, NNG_DURATION_INFINITE);
		}
		int buf = -1;
		if (kinds[i] == PROTO_SOCK_PUSH) {
			assert_int_equal(nng_socket_get_int(s, NNG_OPT_SENDBUF, &buf), 0);
			assert_int_equal(buf, 1);
			assert_int_equal(nng_socket_get_ms(s, NNG_OPT_SENDTIMEO, &d), 0);
			assert_int_equal(d, 1000);
		}
		if (kinds[i] == PROTO_SOCK_PULL) {
			assert_int_equal(nng_socket_get_int(s, NNG_OPT_RECVBUF, &buf), 0);
			assert_int_equal(buf, 1);
		}
		nng_close(s);
	}
}

static void test_req_rep(void **state)
{
	fixture *fx = *state;
	nng_socket rep, req;
	/* the gateway may start before the store: dialing first must work */
	assert_int_equal(proto_sock_dial(PROTO_SOCK_REQ, fx->url, &req), TR_OK);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_REP, fx->url, &rep), TR_OK);
	struct stat st;
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/a/b", fx->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	set_recv_timeout(rep, DEADLINE_MS);
	set_recv_timeout(req, DEADLINE_MS);

	proto_msg q = {.type = PROTO_QUERY};
	q.u.query.request_id = "r-1";
	q.u.query.op = PROTO_OP_GET;
	q.u.query.incident_id = 12;
	assert_int_equal(proto_sock_send(req, &q), TR_OK);
	proto_msg got;
	assert_int_equal(proto_sock_recv(rep, &got), TR_OK);
	assert_int_equal(got.type, PROTO_QUERY);
	assert_string_equal(got.u.query.request_id, "r-1");
	assert_int_equal(got.u.query.incident_id, 12);
	proto_msg_free(&got);

	proto_msg r = {.type = PROTO_REPLY};
	r.u.reply.request_id = "r-1";
	r.u.reply.code = TR_ERR_NOT_FOUND;
	r.u.reply.json = "{}";
	assert_int_equal(proto_sock_send(rep, &r), TR_OK);
	assert_int_equal(proto_sock_recv(req, &got), TR_OK);
	assert_int_equal(got.type, PROTO_REPLY);
	assert_int_equal(got.u.reply.code, TR_ERR_NOT_FOUND);
	proto_msg_free(&got);

	/* an invalid message is refused before anything is sent */
	r.u.reply.request_id = NULL;
	assert_int_equal(proto_sock_send(rep, &r), TR_ERR_INVALID);

	/* a reply body of exactly PROTO_MAX_MSG bytes reaches the requester (the REQ/REP
	 * header does not push it over the socket's cap); these bytes are not a message,
	 * so it is dropped by the decoder rather than lost in transport (a timeout) */
	assert_int_equal(proto_sock_send(req, &q), TR_OK);
	assert_int_equal(proto_sock_recv(rep, &got), TR_OK);
	proto_msg_free(&got);
	nng_msg *max = NULL;
	assert_int_equal(nng_msg_alloc(&max, PROTO_MAX_MSG), 0);
	memset(nng_msg_body(max), 0xc0, PROTO_MAX_MSG);
	assert_int_equal(nng_sendmsg(rep, max, 0), 0);
	assert_int_equal(proto_sock_recv(req, &got), TR_ERR_PROTO);

	/* nobody answers: the receive timeout, as a tr_err */
	assert_int_equal(proto_sock_send(req, &q), TR_OK);
	assert_int_equal(proto_sock_recv(rep, &got), TR_OK);
	proto_msg_free(&got);
	set_recv_timeout(req, 100);
	assert_int_equal(proto_sock_recv(req, &got), TR_ERR_TIMEOUT);
	nng_close(req);
	nng_close(rep);
}

static void test_push_pull_late_listener_and_bad_input(void **state)
{
	fixture *fx = *state;
	nng_socket pull, push, raw;
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, fx->url, &push), TR_OK);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, fx->url, &pull), TR_OK);
	set_recv_timeout(pull, DEADLINE_MS);
	proto_msg m = heartbeat("enr-1", 1), got;
	assert_int_equal(proto_sock_send(push, &m), TR_OK);
	assert_int_equal(proto_sock_recv(pull, &got), TR_OK);
	assert_string_equal(got.u.heartbeat.enricher_id, "enr-1");
	assert_int_equal(got.u.heartbeat.busy, 1);
	proto_msg_free(&got);
	nng_close(push);

	/* a peer that does not speak the protocol: garbage is dropped, the socket lives */
	assert_int_equal(nng_push0_open(&raw), 0);
	assert_int_equal(nng_dial(raw, fx->url, NULL, 0), 0);
	assert_int_equal(nng_send(raw, "\x93\x02\x06\x80", 4, 0), 0); /* wrong version */
	assert_int_equal(nng_send(raw, "garbage", 7, 0), 0);
	assert_int_equal(proto_sock_recv(pull, &got), TR_ERR_PROTO);
	assert_int_equal(got.type, 0);
	assert_int_equal(proto_sock_recv(pull, &got), TR_ERR_PROTO);

	/* just over PROTO_MAX_MSG: the decoder drops it */
	char *big = calloc(1, PROTO_MAX_MSG + 1024);
	assert_int_equal(nng_send(raw, big, PROTO_MAX_MSG + 1, 0), 0);
	assert_int_equal(proto_sock_recv(pull, &got), TR_ERR_PROTO);
	/* far over: nng refuses it (the pipe closes) and nothing is delivered */
	assert_int_equal(nng_send(raw, big, PROTO_MAX_MSG + 1024, 0), 0);
	free(big);
	set_recv_timeout(pull, 300);
	assert_int_equal(proto_sock_recv(pull, &got), TR_ERR_TIMEOUT);
	nng_close(raw);

	/* and a well-behaved peer still gets through afterwards */
	set_recv_timeout(pull, DEADLINE_MS);
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, fx->url, &push), TR_OK);
	m = heartbeat("enr-2", 0);
	assert_int_equal(proto_sock_send(push, &m), TR_OK);
	assert_int_equal(proto_sock_recv(pull, &got), TR_OK);
	assert_string_equal(got.u.heartbeat.enricher_id, "enr-2");
	proto_msg_free(&got);
	nng_close(push);
	nng_close(pull);
}

/* A PUSH with nobody to take the message gives up instead of blocking for ever. */
static void test_push_without_puller_times_out(void **state)
{
	fixture *fx = *state;
	nng_socket push;
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, fx->url, &push), TR_OK);
	proto_msg m = heartbeat("enr-5", 0);
	assert_int_equal(proto_sock_send(push, &m), TR_OK); /* the one-message send buffer */
	int64_t t0 = tr_mono_ms();
	assert_int_equal(proto_sock_send(push, &m), TR_ERR_TIMEOUT);
	int64_t took = tr_mono_ms() - t0;
	assert_true(took >= 900 && took < DEADLINE_MS);
	nng_close(push);
}

static void test_pub_sub(void **state)
{
	fixture *fx = *state;
	nng_socket pub, sub;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PUB, fx->url, &pub), TR_OK);
	assert_int_equal(proto_sock_dial(PROTO_SOCK_SUB, fx->url, &sub), TR_OK);
	set_recv_timeout(sub, 50);
	proto_msg ev = {.type = PROTO_EVENT}, got;
	ev.u.event.kind = "created";
	ev.u.event.status = "submitted";
	ev.u.event.incident_id = 5;
	/* a subscriber misses what is published before it is connected: publish until
	 * one arrives, within the deadline */
	int64_t deadline = tr_mono_ms() + DEADLINE_MS;
	int rc = TR_ERR_TIMEOUT;
	while (rc == TR_ERR_TIMEOUT && tr_mono_ms() < deadline) {
		ev.u.event.seq++;
		assert_int_equal(proto_sock_send(pub, &ev), TR_OK);
		rc = proto_sock_recv(sub, &got);
	}
	assert_int_equal(rc, TR_OK);
	assert_int_equal(got.type, PROTO_EVENT);
	assert_int_equal(got.u.event.incident_id, 5);
	assert_true(got.u.event.seq >= 1);
	proto_msg_free(&got);
	nng_close(sub);
	nng_close(pub);
}

static void test_stale_and_live_socket_files(void **state)
{
	fixture *fx = *state;
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/a", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/a/b", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* a dead process's leftover: bound, never listening, fd closed */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, fx->path, strlen(fx->path) + 1); /* 80 < sizeof(sun_path) */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	nng_socket pull, pull2, push;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, fx->url, &pull), TR_OK);

	/* a live listener is never taken over */
	assert_int_not_equal(proto_sock_listen(PROTO_SOCK_PULL, fx->url, &pull2), TR_OK);
	set_recv_timeout(pull, DEADLINE_MS);
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PUSH, fx->url, &push), TR_OK);
	proto_msg m = heartbeat("enr-3", 2), got;
	assert_int_equal(proto_sock_send(push, &m), TR_OK);
	assert_int_equal(proto_sock_recv(pull, &got), TR_OK);
	assert_string_equal(got.u.heartbeat.enricher_id, "enr-3");
	proto_msg_free(&got);
	nng_close(push);
	nng_close(pull);
}

/* The socket's folder must be ours and closed to others, or the store does not start. */
static void test_private_socket_folder(void **state)
{
	(void)state;
	char dir[32] = "/tmp/tpp-XXXXXX", url[96];
	nng_socket s;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof url, "ipc://%s/s.ipc", dir);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_REP, url, &s), TR_ERR_INVALID);
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) { /* only root can give it away */
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(proto_sock_listen(PROTO_SOCK_REP, url, &s), TR_ERR_INVALID);
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	assert_int_equal(proto_sock_listen(PROTO_SOCK_REP, url, &s), TR_OK);
	nng_close(s);
	char path[96];
	snprintf(path, sizeof path, "%s/s.ipc", dir);
	unlink(path);
	rmdir(dir);
}

static void test_nng_msg_helpers(void **state)
{
	(void)state;
	proto_msg m = heartbeat("enr-4", 3), got;
	nng_msg *msg = NULL;
	char err[128];
	assert_int_equal(proto_msg_to_nng(&m, &msg), TR_OK);
	assert_int_equal(proto_msg_from_nng(msg, &got, err, sizeof(err)), TR_OK);
	assert_string_equal(got.u.heartbeat.enricher_id, "enr-4");
	proto_msg_free(&got);
	assert_int_equal(nng_msg_trim(msg, 1), 0); /* now truncated */
	assert_int_equal(proto_msg_from_nng(msg, &got, err, sizeof(err)), TR_ERR_PROTO);
	assert_true(strlen(err) > 0);
	nng_msg_free(msg);
	assert_int_equal(proto_msg_from_nng(NULL, &got, err, sizeof(err)), TR_ERR_PROTO);
	m.u.heartbeat.enricher_id = NULL;
	msg = NULL;
	assert_int_equal(proto_msg_to_nng(&m, &msg), TR_ERR_INVALID);
	assert_null(msg);
}

/* Address lists: counted, split and trimmed; an empty or over-long element refused. */
static void test_url_lists(void **state)
{
	(void)state;
	char out[PROTO_URL_MAX];
	assert_int_equal(proto_url_count(NULL), 0);
	assert_int_equal(proto_url_count("ipc:///a"), 1);
	assert_int_equal(proto_url_count("tcp://a:1, tcp://b:2 ,tcp://c:3"), 3);
	assert_int_equal(proto_url_at("tcp://a:1, tcp://b:2 ,tcp://c:3", 1, out, sizeof out), TR_OK);
	assert_string_equal(out, "tcp://b:2");
	assert_int_equal(proto_url_at("tcp://a:1, tcp://b:2 ,tcp://c:3", 2, out, sizeof out), TR_OK);
	assert_string_equal(out, "tcp://c:3");
	assert_int_equal(proto_url_at("tcp://a:1", 1, out, sizeof out), TR_ERR_INVALID);
	assert_int_equal(proto_url_at("tcp://a:1,,tcp://c:3", 1, out, sizeof out), TR_ERR_INVALID);
	assert_int_equal(proto_url_at("tcp://a:1, ", 1, out, sizeof out), TR_ERR_INVALID);
	assert_int_equal(proto_url_at("tcp://abcdef:1", 0, out, 8), TR_ERR_INVALID);
	nng_socket s;
	assert_int_equal(proto_sock_dial(PROTO_SOCK_SUB, "ipc:///tmp/x.ipc,", &s), TR_ERR_INVALID);
}

/* One socket dialing a list: a PULL takes from two stores' PUSH sockets. */
static void test_dial_list(void **state)
{
	fixture *fx = *state;
	char url2[100], both[200];
	snprintf(url2, sizeof url2, "ipc://%s/two.ipc", fx->dir);
	snprintf(both, sizeof both, "%s, %s", fx->url, url2);
	nng_socket push1, push2, pull;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PUSH, fx->url, &push1), TR_OK);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PUSH, url2, &push2), TR_OK);
	assert_int_equal(proto_sock_dial(PROTO_SOCK_PULL, both, &pull), TR_OK);
	set_recv_timeout(pull, DEADLINE_MS);
	proto_msg m1 = heartbeat("from-one", 1), m2 = heartbeat("from-two", 2), got;
	assert_int_equal(proto_sock_send(push1, &m1), TR_OK);
	assert_int_equal(proto_sock_send(push2, &m2), TR_OK);
	bool seen[3] = {false};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(proto_sock_recv(pull, &got), TR_OK);
		assert_true(got.u.heartbeat.busy == 1 || got.u.heartbeat.busy == 2);
		seen[got.u.heartbeat.busy] = true;
		proto_msg_free(&got);
	}
	assert_true(seen[1] && seen[2]);
	nng_close(pull);
	nng_close(push1);
	nng_close(push2);
	unlink(url2 + strlen("ipc://"));
}

static void test_error_mapping(void **state)
{
	(void)state;
	assert_int_equal(proto_nng_err(0), TR_OK);
	assert_int_equal(proto_nng_err(NNG_ETIMEDOUT), TR_ERR_TIMEOUT);
	assert_int_equal(proto_nng_err(NNG_ECONNREFUSED), TR_ERR_UNAVAILABLE);
	assert_int_equal(proto_nng_err(NNG_ECLOSED), TR_ERR_UNAVAILABLE);
	assert_int_equal(proto_nng_err(NNG_ESTATE), TR_ERR_UNAVAILABLE);
	assert_int_equal(proto_nng_err(NNG_ENOMEM), TR_ERR_NOMEM);
	assert_int_equal(proto_nng_err(NNG_EMSGSIZE), TR_ERR_TOO_LARGE);
	assert_int_equal(proto_nng_err(NNG_EADDRINUSE), TR_ERR_IO);
	/* a bad URL is the caller's mistake, reported without a socket left open */
	nng_socket s;
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PUB, "nope://x", &s), TR_ERR_INVALID);
}

int main(void)
{
	tr_log_init("test_proto_sock", TR_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_req_rep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_pull_late_listener_and_bad_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_push_without_puller_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pub_sub, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live_socket_files, setup, teardown),
		cmocka_unit_test(test_private_socket_folder),
		cmocka_unit_test(test_nng_msg_helpers),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_url_lists),
		cmocka_unit_test_setup_teardown(test_dial_list, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop();
	nng_fini();
	return rc;
}
