/* test_gw_store: the gateway's REQ client against a real nng REP peer over ipc://:
 * round trips, many calls in flight, timeouts (silent peer, no peer), replies for
 * another request or garbage refused, the pool bound, shutdown ending every call, and
 * submits coalesced into batches (only for a store that says it takes them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "gw_store.h"
#include "proto.h"
#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_time.h"

#define DEADLINE_MS 10000

/* PEER_OLD answers as a store from before SUBMIT_BATCH: no batch_max, batches dropped */
enum { PEER_ECHO, PEER_SILENT, PEER_WRONG_ID, PEER_GARBAGE, PEER_OLD };

typedef struct {
	char dir[40];
	char url[96];
	nng_socket rep;
	pthread_t thread;
	atomic_int mode;
	atomic_bool stop;
	/* completions, and the peer's open pipes */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int pipes;
	/* what the peer received: requests, plain submits, batches, the largest batch */
	atomic_int requests, submits, batches, batch_largest;
} fixture;

/* The peer's answer to a SUBMIT_BATCH: each submit's reply names it and the batch size. */
static void peer_batch(fixture *f, const proto_msg *req)
{
	const proto_submit_batch *b = &req->u.submit_batch;
	proto_reply replies[PROTO_BATCH_MAX];
	char json[PROTO_BATCH_MAX][96];
	atomic_fetch_add(&f->batches, 1);
	if ((int)b->nsubmits > atomic_load(&f->batch_largest))
		atomic_store(&f->batch_largest, (int)b->nsubmits);
	for (size_t i = 0; i < b->nsubmits; i++) {
		snprintf(json[i], sizeof json[i], "{\"title\":\"%s\",\"batch\":%zu}",
			 b->submits[i].title, b->nsubmits);
		replies[i] = (proto_reply){.request_id = b->submits[i].request_id, .code = TR_OK,
					   .created = true, .incident_id = (int64_t)i + 1,
					   .json = json[i]};
	}
	proto_msg rep = {.type = PROTO_BATCH_REPLY};
	rep.u.batch_reply = (proto_batch_reply){b->request_id, replies, b->nsubmits};
	nng_msg *out = NULL;
	assert_int_equal(proto_msg_to_nng(&rep, &out), TR_OK);
	if (nng_sendmsg(f->rep, out, 0) != 0)
		nng_msg_free(out);
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	fixture *f = arg;
	(void)p;
	pthread_mutex_lock(&f->mu);
	f->pipes += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void *peer(void *arg)
{
	fixture *f = arg;
	while (!atomic_load(&f->stop)) {
		nng_msg *msg = NULL;
		if (nng_recvmsg(f->rep, &msg, 0) != 0)
			continue;
		proto_msg req, rep;
		char err[128];
		int mode = atomic_load(&f->mode);
		atomic_fetch_add(&f->requests, 1);
		if (mode == PEER_SILENT || proto_msg_from_nng(msg, &req, err, sizeof err) != TR_OK) {
			nng_msg_free(msg);
			continue;
		}
		nng_msg_free(msg);
		if (req.type == PROTO_SUBMIT_BATCH) {
			if (mode != PEER_OLD) /* an old store's decoder refuses the type */
				peer_batch(f, &req);
			proto_msg_free(&req);
			continue;
		}
		if (req.type == PROTO_SUBMIT)
			atomic_fetch_add(&f->submits, 1);
		if (mode == PEER_GARBAGE) {
			nng_msg *g;
			nng_msg_alloc(&g, 0);
			nng_msg_append(g, "\xc1garbage", 8);
			if (nng_sendmsg(f->rep, g, 0) != 0)
				nng_msg_free(g);
			proto_msg_free(&req);
			continue;
		}
		char json[64];
		if (req.type == PROTO_SUBMIT)
			snprintf(json, sizeof json, "{\"title\":\"%s\"}", req.u.submit.title);
		else
			snprintf(json, sizeof json, "{\"op\":%d}", req.u.query.op);
		memset(&rep, 0, sizeof rep);
		rep.type = PROTO_REPLY;
		/* request_id leads both a query and a submit */
		rep.u.reply.request_id =
			mode == PEER_WRONG_ID ? "00000000000000000000000000000000" : req.u.query.request_id;
		rep.u.reply.code = TR_OK;
		rep.u.reply.json = json;
		rep.u.reply.batch_max = mode == PEER_OLD ? 0 : PROTO_BATCH_MAX;
		nng_msg *out = NULL;
		assert_int_equal(proto_msg_to_nng(&rep, &out), TR_OK);
		if (nng_sendmsg(f->rep, out, 0) != 0)
			nng_msg_free(out);
		proto_msg_free(&req);
	}
	return NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/gw-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof f->url, "ipc://%s/store.ipc", f->dir);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_REP, f->url, &f->rep), TR_OK);
	nng_socket_set_ms(f->rep, NNG_OPT_RECVTIMEO, 50);
	nng_pipe_notify(f->rep, NNG_PIPE_EV_ADD_POST, on_pipe, f);
	nng_pipe_notify(f->rep, NNG_PIPE_EV_REM_POST, on_pipe, f);
	assert_int_equal(pthread_create(&f->thread, NULL, peer, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	/* Close the listener only once the clients' pipes are gone (nng 1.5.2 can leak a
	 * pipe that closes while its listener does). */
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	pthread_mutex_lock(&f->mu);
	while (f->pipes > 0 && tr_mono_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(f->pipes, 0);
	nng_close(f->rep);
	char cmd[80];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

static void on_done(void *arg)
{
	fixture *f = arg;
	pthread_mutex_lock(&f->mu);
	f->done++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Waits until n calls have completed in all; fails after DEADLINE_MS. */
static void wait_done(fixture *f, int n)
{
	int64_t until = tr_mono_ms() + DEADLINE_MS;
	pthread_mutex_lock(&f->mu);
	while (f->done < n) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
		if (tr_mono_ms() > until)
			fail_msg("only %d of %d calls completed", f->done, n);
	}
	pthread_mutex_unlock(&f->mu);
}

static void query(proto_msg *m, char *rid, int op)
{
	memset(m, 0, sizeof *m);
	gw_request_id(rid);
	m->type = PROTO_QUERY;
	m->u.query.request_id = rid;
	m->u.query.op = op;
}

static void test_round_trip(void **state)
{
	fixture *f = *state;
	gw_store *s;
	gw_call *c;
	proto_msg m, reply;
	char rid[GW_REQUEST_ID_LEN + 1];
	assert_int_equal(gw_store_open(f->url, 8, &s), TR_OK);
	query(&m, rid, PROTO_OP_STATS);
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_OK);
	wait_done(f, 1);
	assert_int_equal(gw_call_result(c, &reply), TR_OK);
	assert_int_equal(reply.type, PROTO_REPLY);
	assert_string_equal(reply.u.reply.request_id, rid);
	assert_string_equal(reply.u.reply.json, "{\"op\":8}");
	proto_msg_free(&reply);
	gw_call_release(c);
	gw_store_close(s);
}

static void test_many_in_flight(void **state)
{
	fixture *f = *state;
	enum { N = 64 };
	gw_store *s;
	gw_call *c[N];
	proto_msg m[N], reply;
	char rid[N][GW_REQUEST_ID_LEN + 1];
	assert_int_equal(gw_store_open(f->url, N, &s), TR_OK);
	for (int i = 0; i < N; i++) {
		query(&m[i], rid[i], 1 + i % 10);
		assert_int_equal(gw_store_call(s, &m[i], 5000, on_done, f, &c[i]), TR_OK);
	}
	wait_done(f, N);
	for (int i = 0; i < N; i++) {
		char want[32];
		assert_int_equal(gw_call_result(c[i], &reply), TR_OK);
		assert_string_equal(reply.u.reply.request_id, rid[i]);
		snprintf(want, sizeof want, "{\"op\":%d}", 1 + i % 10);
		assert_string_equal(reply.u.reply.json, want);
		proto_msg_free(&reply);
		gw_call_release(c[i]);
	}
	gw_store_close(s);
}

static void test_timeout_and_no_peer(void **state)
{
	fixture *f = *state;
	gw_store *s;
	gw_call *c;
	proto_msg m, reply;
	char rid[GW_REQUEST_ID_LEN + 1];

	atomic_store(&f->mode, PEER_SILENT);
	assert_int_equal(gw_store_open(f->url, 4, &s), TR_OK);
	query(&m, rid, PROTO_OP_READY);
	int64_t t0 = tr_mono_ms();
	assert_int_equal(gw_store_call(s, &m, 300, on_done, f, &c), TR_OK);
	wait_done(f, 1);
	int64_t took = tr_mono_ms() - t0;
	assert_true(took >= 250 && took < 3000);
	assert_int_equal(gw_call_result(c, &reply), TR_ERR_TIMEOUT);
	gw_call_release(c);
	/* the slot is reusable once the peer answers again */
	atomic_store(&f->mode, PEER_ECHO);
	query(&m, rid, PROTO_OP_READY);
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_OK);
	wait_done(f, 2);
	assert_int_equal(gw_call_result(c, &reply), TR_OK);
	assert_string_equal(reply.u.reply.request_id, rid);
	proto_msg_free(&reply);
	gw_call_release(c);
	gw_store_close(s);

	/* nobody listening at all: the send waits for a peer, then times out */
	char url[128];
	snprintf(url, sizeof url, "ipc://%s/nobody.ipc", f->dir);
	assert_int_equal(gw_store_open(url, 4, &s), TR_OK);
	query(&m, rid, PROTO_OP_READY);
	assert_int_equal(gw_store_call(s, &m, 200, on_done, f, &c), TR_OK);
	wait_done(f, 3);
	assert_int_equal(gw_call_result(c, &reply), TR_ERR_TIMEOUT);
	gw_call_release(c);
	gw_store_close(s);
}

static void test_bad_replies(void **state)
{
	fixture *f = *state;
	gw_store *s;
	gw_call *c;
	proto_msg m, reply;
	char rid[GW_REQUEST_ID_LEN + 1];
	assert_int_equal(gw_store_open(f->url, 4, &s), TR_OK);
	atomic_store(&f->mode, PEER_WRONG_ID);
	query(&m, rid, PROTO_OP_GET);
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_OK);
	wait_done(f, 1);
	assert_int_equal(gw_call_result(c, &reply), TR_ERR_PROTO);
	gw_call_release(c);
	atomic_store(&f->mode, PEER_GARBAGE);
	query(&m, rid, PROTO_OP_GET);
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_OK);
	wait_done(f, 2);
	assert_int_equal(gw_call_result(c, &reply), TR_ERR_PROTO);
	gw_call_release(c);
	/* a message that is no request is refused before sending */
	memset(&m, 0, sizeof m);
	m.type = PROTO_HEARTBEAT;
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_ERR_INVALID);
	gw_store_close(s);
}

static void test_pool_bound_and_shutdown(void **state)
{
	fixture *f = *state;
	gw_store *s;
	gw_call *c[3];
	proto_msg m[3], reply;
	char rid[3][GW_REQUEST_ID_LEN + 1];
	atomic_store(&f->mode, PEER_SILENT);
	assert_int_equal(gw_store_open(f->url, 2, &s), TR_OK);
	for (int i = 0; i < 3; i++)
		query(&m[i], rid[i], PROTO_OP_STATS);
	assert_int_equal(gw_store_call(s, &m[0], 60000, on_done, f, &c[0]), TR_OK);
	assert_int_equal(gw_store_call(s, &m[1], 60000, on_done, f, &c[1]), TR_OK);
	assert_int_equal(gw_store_call(s, &m[2], 60000, on_done, f, &c[2]), TR_ERR_UNAVAILABLE);
	/* shutdown ends both calls at once, long before their timeout */
	int64_t t0 = tr_mono_ms();
	gw_store_shutdown(s);
	wait_done(f, 2);
	assert_true(tr_mono_ms() - t0 < 5000);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(gw_call_result(c[i], &reply), TR_ERR_UNAVAILABLE);
		gw_call_release(c[i]);
	}
	assert_int_equal(gw_store_call(s, &m[2], 1000, on_done, f, &c[2]), TR_ERR_UNAVAILABLE);
	gw_store_close(s);
}

/* One submit call of a test and what it needs until its result is read. */
typedef struct {
	gw_call *c;
	proto_msg m;
	char rid[GW_REQUEST_ID_LEN + 1];
	char title[16];
} sub_call;

/* A client that sends batches, told by a READY round trip what the peer takes. */
static gw_store *batching_client(fixture *f, size_t slots, int done_before)
{
	gw_store *s;
	gw_call *c;
	proto_msg m, reply;
	char rid[GW_REQUEST_ID_LEN + 1];
	assert_int_equal(gw_store_open(f->url, slots, &s), TR_OK);
	gw_store_set_batch(s, PROTO_BATCH_MAX);
	query(&m, rid, PROTO_OP_READY);
	assert_int_equal(gw_store_call(s, &m, 5000, on_done, f, &c), TR_OK);
	wait_done(f, done_before + 1);
	assert_int_equal(gw_call_result(c, &reply), TR_OK);
	proto_msg_free(&reply);
	gw_call_release(c);
	return s;
}

/* Starts n submits at once, each with timeout_ms. */
static void submit_all(fixture *f, gw_store *s, sub_call *calls, int n, int timeout_ms)
{
	for (int i = 0; i < n; i++) {
		sub_call *k = &calls[i];
		memset(&k->m, 0, sizeof k->m);
		gw_request_id(k->rid);
		snprintf(k->title, sizeof k->title, "t%d", i);
		k->m.type = PROTO_SUBMIT;
		k->m.u.submit.request_id = k->rid;
		k->m.u.submit.title = k->title;
		k->m.u.submit.description = "d";
		assert_int_equal(gw_store_call(s, &k->m, timeout_ms, on_done, f, &k->c), TR_OK);
	}
}

/* Reads n results: each its own reply (want TR_OK), or the error want; releases them. */
static void expect_all(sub_call *calls, int n, int want)
{
	proto_msg reply;
	for (int i = 0; i < n; i++) {
		assert_int_equal(gw_call_result(calls[i].c, &reply), want);
		if (want == TR_OK) {
			assert_int_equal(reply.type, PROTO_REPLY);
			assert_string_equal(reply.u.reply.request_id, calls[i].rid);
			assert_non_null(strstr(reply.u.reply.json, calls[i].title));
			proto_msg_free(&reply);
		}
		gw_call_release(calls[i].c);
	}
}

/* Submits started together travel in batches, each answered with its own reply; a store
 * whose replies do not say it takes batches gets them one by one. */
static void test_submit_batches(void **state)
{
	fixture *f = *state;
	enum { N = 96 };
	sub_call calls[N];
	gw_store *s = batching_client(f, N + 1, 0);
	atomic_store(&f->requests, 0);
	submit_all(f, s, calls, N, 5000);
	wait_done(f, 1 + N);
	expect_all(calls, N, TR_OK);
	/* the peer answers one request at a time: what waited meanwhile went together */
	assert_int_equal(atomic_load(&f->submits), 0);
	assert_true(atomic_load(&f->requests) < N);
	assert_true(atomic_load(&f->batch_largest) > 1);
	assert_true(atomic_load(&f->batch_largest) <= PROTO_BATCH_MAX);
	gw_store_close(s);

	/* an older store: its replies carry no batch_max, so every submit goes alone */
	atomic_store(&f->mode, PEER_OLD);
	atomic_store(&f->batches, 0);
	s = batching_client(f, N + 1, 1 + N);
	submit_all(f, s, calls, 8, 5000);
	wait_done(f, 2 + N + 8);
	expect_all(calls, 8, TR_OK);
	assert_int_equal(atomic_load(&f->batches), 0);
	assert_int_equal(atomic_load(&f->submits), 8);
	gw_store_close(s);
}

/* A batch nobody answers: its submits time out (never longer than their own timeout
 * and a little), batching stops until a reply says it is taken, and shutdown ends the
 * submits still queued. */
static void test_batch_timeout_and_shutdown(void **state)
{
	fixture *f = *state;
	enum { N = 40 };
	sub_call calls[N];
	gw_store *s = batching_client(f, N + 1, 0);
	atomic_store(&f->mode, PEER_SILENT);
	int64_t t0 = tr_mono_ms();
	submit_all(f, s, calls, N, 300);
	wait_done(f, 1 + N);
	assert_true(tr_mono_ms() - t0 < 3000);
	expect_all(calls, N, TR_ERR_TIMEOUT);
	/* batching is off now: the next submit travels alone */
	atomic_store(&f->mode, PEER_ECHO);
	atomic_store(&f->submits, 0);
	submit_all(f, s, calls, 1, 5000);
	wait_done(f, 2 + N);
	expect_all(calls, 1, TR_OK);
	assert_int_equal(atomic_load(&f->submits), 1);
	/* its reply said batches are taken: batches again; shutdown ends them all at once */
	atomic_store(&f->mode, PEER_SILENT);
	t0 = tr_mono_ms();
	submit_all(f, s, calls, N, 60000);
	gw_store_shutdown(s);
	wait_done(f, 2 + 2 * N);
	assert_true(tr_mono_ms() - t0 < 5000);
	expect_all(calls, N, TR_ERR_UNAVAILABLE);
	gw_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_no_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_bound_and_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_timeout_and_shutdown, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop(); /* the REP peers' listeners were guarded: no guard thread after nng_fini */
	nng_fini(); /* nng reaps closed sockets in the background: let it finish */
	return failed;
}
