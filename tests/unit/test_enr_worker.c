/* test_enr_worker: the worker's side of the job and result sockets, with this test as
 * the peer on real ipc:// sockets (the store cannot send what is tested here):
 * heartbeats, a triage, malformed and misdirected messages dropped, a job whose lease
 * passed released, SIGTERM releasing both the call in flight and a job not started, and
 * two stores at once (the free slot split between them, results to the job's store). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "enr_worker.h"
#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_log.h"
#include "tr_signal.h"
#include "tr_time.h"

typedef struct {
	char dir[64];
	nng_socket jobs;    /* PUSH, listening: the store's side */
	nng_socket results; /* PULL, listening */
	enr_config cfg;
	enr_backend_kind kind;
	pthread_t thread;
	int exit_code;
	int listen_fd; /* a TCP listener that never answers (calls stay in flight) */
} fixture;

static void *run_worker(void *arg)
{
	fixture *f = arg;
	f->exit_code = enr_worker_run(&f->cfg, f->kind);
	return NULL;
}

static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void start(fixture *f, enr_backend_kind kind, const char *slots, const char *grace)
{
	char url[128], err[200];
	strcpy(f->dir, "/tmp/enr-worker-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof url, "ipc://%s/jobs.ipc", f->dir);
	setenv("TRIAGE_JOBS_URL", url, 1);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PUSH, url, &f->jobs), 0);
	snprintf(url, sizeof url, "ipc://%s/results.ipc", f->dir);
	setenv("TRIAGE_RESULTS_URL", url, 1);
	assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, url, &f->results), 0);
	nng_socket_set_ms(f->results, NNG_OPT_RECVTIMEO, 10000);
	nng_socket_set_ms(f->jobs, NNG_OPT_SENDTIMEO, 10000);
	int port;
	f->listen_fd = silent_listener(&port);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	setenv("TRIAGE_OLLAMA_URL", url, 1);
	setenv("TRIAGE_ENRICHER_ID", "test-enricher", 1);
	setenv("TRIAGE_HEARTBEAT_MS", "50", 1);
	setenv("TRIAGE_ENRICHER_SLOTS", slots, 1);
	setenv("TRIAGE_SHUTDOWN_GRACE_MS", grace, 1);
	setenv("TRIAGE_LLM_TIMEOUT_MS", "60000", 1);
	assert_int_equal(enr_config_load(&f->cfg, err, sizeof err), 0);
	f->kind = kind;
	assert_int_equal(pthread_create(&f->thread, NULL, run_worker, f), 0);
}

/* After the SIGTERM (blocked in every thread: the worker's sigtimedwait takes it). */
static void finish(fixture *f)
{
	pthread_join(f->thread, NULL);
	assert_int_equal(f->exit_code, 0);
	proto_sock_close(f->jobs);
	proto_sock_close(f->results);
	close(f->listen_fd);
	enr_config_free(&f->cfg);
	char path[128];
	snprintf(path, sizeof path, "%s/jobs.ipc", f->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/results.ipc", f->dir);
	unlink(path);
	rmdir(f->dir);
}

/* The next message of the given type (heartbeats are skipped unless asked for). */
static proto_msg next(fixture *f, proto_type type)
{
	for (;;) {
		proto_msg m;
		int rc = proto_sock_recv(f->results, &m);
		if (rc != 0)
			fail_msg("no %s message from the worker (%d)", proto_type_name(type), rc);
		if (m.type == type)
			return m;
		proto_msg_free(&m);
	}
}

static void send_job(fixture *f, int64_t id, int64_t lease_deadline_ms, const char *title)
{
	proto_msg m = {.type = PROTO_JOB};
	m.u.job.incident_id = id;
	m.u.job.attempt = 1;
	m.u.job.lease_deadline_ms = lease_deadline_ms;
	m.u.job.model = "";
	m.u.job.title = (char *)title;
	m.u.job.description = "production disk at 100% on db-1, writes failing";
	assert_int_equal(proto_sock_send(f->jobs, &m), 0);
}

static void test_heartbeat_triage_and_bad_messages(void **state)
{
	(void)state;
	fixture f;
	memset(&f, 0, sizeof f);
	start(&f, ENR_BACKEND_RULES, "2", "1000");

	proto_msg hb = next(&f, PROTO_HEARTBEAT);
	assert_string_equal(hb.u.heartbeat.enricher_id, "test-enricher");
	assert_string_equal(hb.u.heartbeat.backend, "rules");
	assert_int_equal(hb.u.heartbeat.slots, 2);
	assert_int_equal(hb.u.heartbeat.busy, 0);
	proto_msg_free(&hb);

	/* Garbage bytes and a message of the wrong type are dropped; the worker goes on. */
	assert_int_equal(nng_send(f.jobs, "\x93\x01\x04\xc0", 4, 0), 0);
	proto_msg wrong = {.type = PROTO_HEARTBEAT};
	wrong.u.heartbeat.enricher_id = "intruder";
	assert_int_equal(proto_sock_send(f.jobs, &wrong), 0);
	/* A job whose lease already passed is released, not attempted. */
	send_job(&f, 41, tr_now_ms() - 1000, "stale");
	proto_msg r = next(&f, PROTO_RESULT);
	assert_int_equal(r.u.result.incident_id, 41);
	assert_int_equal(r.u.result.outcome, PROTO_OUTCOME_RELEASED);
	assert_string_equal(r.u.result.reason, "lease_expired");
	proto_msg_free(&r);

	send_job(&f, 42, tr_now_ms() + 60000, "Disk full on db-1");
	r = next(&f, PROTO_RESULT);
	assert_int_equal(r.u.result.incident_id, 42);
	assert_int_equal(r.u.result.attempt, 1);
	assert_string_equal(r.u.result.enricher_id, "test-enricher");
	assert_int_equal(r.u.result.outcome, PROTO_OUTCOME_TRIAGED);
	assert_string_equal(r.u.result.backend, "rules");
	assert_non_null(r.u.result.summary);
	assert_non_null(r.u.result.severity);
	assert_string_equal(r.u.result.category, "storage");
	proto_msg_free(&r);

	kill(getpid(), SIGTERM);
	/* Stopping: a heartbeat with no slots tells the store to send nothing more. */
	for (;;) {
		hb = next(&f, PROTO_HEARTBEAT);
		int32_t slots = hb.u.heartbeat.slots;
		proto_msg_free(&hb);
		if (slots == 0)
			break;
	}
	finish(&f);
}

/* SIGTERM with a call in flight past the grace period and a job waiting behind it:
 * both come back RELEASED, and the worker exits 0. */
static void test_sigterm_releases_in_flight_and_waiting(void **state)
{
	(void)state;
	fixture f;
	memset(&f, 0, sizeof f);
	start(&f, ENR_BACKEND_OLLAMA, "1", "200");
	proto_msg hb = next(&f, PROTO_HEARTBEAT);
	proto_msg_free(&hb);

	send_job(&f, 1, tr_now_ms() + 60000, "in flight");
	/* The call is in flight once the (silent) server sees the connection. */
	struct pollfd p = {.fd = f.listen_fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	send_job(&f, 2, tr_now_ms() + 60000, "waiting");

	int64_t t0 = tr_mono_ms();
	kill(getpid(), SIGTERM);
	bool seen[3] = {false};
	for (int i = 0; i < 2; i++) {
		proto_msg r = next(&f, PROTO_RESULT);
		assert_true(r.u.result.incident_id == 1 || r.u.result.incident_id == 2);
		assert_int_equal(r.u.result.outcome, PROTO_OUTCOME_RELEASED);
		assert_string_equal(r.u.result.reason, "shutdown");
		seen[r.u.result.incident_id] = true;
		proto_msg_free(&r);
	}
	assert_true(seen[1] && seen[2]);
	finish(&f);
	assert_true(tr_mono_ms() - t0 < 5000);
}

/* Two stores at once (TRIAGE_JOBS_URL and TRIAGE_RESULTS_URL lists): this test is both. */
typedef struct {
	char dir[64];
	nng_socket jobs[2];    /* PUSH, listening */
	nng_socket results[2]; /* PULL, listening */
	enr_config cfg;
	pthread_t thread;
	int exit_code;
} two_stores;

static void *run_worker_two(void *arg)
{
	two_stores *t = arg;
	t->exit_code = enr_worker_run(&t->cfg, ENR_BACKEND_RULES);
	return NULL;
}

/* The next message of the type on s (heartbeats are skipped unless asked for). */
static proto_msg next_on(nng_socket s, proto_type type)
{
	for (;;) {
		proto_msg m;
		int rc = proto_sock_recv(s, &m);
		if (rc != 0)
			fail_msg("no %s message from the worker (%d)", proto_type_name(type), rc);
		if (m.type == type)
			return m;
		proto_msg_free(&m);
	}
}

/* The free slots this heartbeat gives its store (the store's credit: slots - busy). */
static int32_t next_share(nng_socket s)
{
	proto_msg hb = next_on(s, PROTO_HEARTBEAT);
	int32_t share = hb.u.heartbeat.slots - hb.u.heartbeat.busy;
	assert_int_equal(hb.u.heartbeat.busy, 0);
	proto_msg_free(&hb);
	return share;
}

static void send_job_on(nng_socket s, int64_t id)
{
	proto_msg m = {.type = PROTO_JOB};
	m.u.job.incident_id = id;
	m.u.job.attempt = 1;
	m.u.job.lease_deadline_ms = tr_now_ms() + 60000;
	m.u.job.model = "";
	m.u.job.title = "Disk full on db-1";
	m.u.job.description = "production disk at 100% on db-1, writes failing";
	assert_int_equal(proto_sock_send(s, &m), 0);
}

/* The result of job id on s (kept results sent again may come first). */
static void expect_result(nng_socket s, int64_t id)
{
	for (;;) {
		proto_msg r = next_on(s, PROTO_RESULT);
		int64_t got = r.u.result.incident_id;
		if (got == id)
			assert_int_equal(r.u.result.outcome, PROTO_OUTCOME_TRIAGED);
		proto_msg_free(&r);
		if (got == id)
			return;
	}
}

static void test_two_stores(void **state)
{
	(void)state;
	two_stores t;
	char url[128], jobs[300] = "", results[300] = "", err[300];
	memset(&t, 0, sizeof t);
	strcpy(t.dir, "/tmp/enr-worker-XXXXXX");
	assert_non_null(mkdtemp(t.dir));
	for (int i = 0; i < 2; i++) {
		snprintf(url, sizeof url, "ipc://%s/jobs%d.ipc", t.dir, i);
		assert_int_equal(proto_sock_listen(PROTO_SOCK_PUSH, url, &t.jobs[i]), 0);
		snprintf(jobs + strlen(jobs), sizeof jobs - strlen(jobs), "%s%s", i ? "," : "", url);
		snprintf(url, sizeof url, "ipc://%s/results%d.ipc", t.dir, i);
		assert_int_equal(proto_sock_listen(PROTO_SOCK_PULL, url, &t.results[i]), 0);
		snprintf(results + strlen(results), sizeof results - strlen(results), "%s%s",
			 i ? "," : "", url);
		nng_socket_set_ms(t.results[i], NNG_OPT_RECVTIMEO, 5000);
		nng_socket_set_ms(t.jobs[i], NNG_OPT_SENDTIMEO, 5000);
	}
	setenv("TRIAGE_JOBS_URL", jobs, 1);
	setenv("TRIAGE_RESULTS_URL", results, 1);
	setenv("TRIAGE_ENRICHER_ID", "test-enricher", 1);
	setenv("TRIAGE_HEARTBEAT_MS", "50", 1);
	setenv("TRIAGE_ENRICHER_SLOTS", "1", 1);
	setenv("TRIAGE_SHUTDOWN_GRACE_MS", "1000", 1);
	assert_int_equal(enr_config_load(&t.cfg, err, sizeof err), 0);
	assert_int_equal(pthread_create(&t.thread, NULL, run_worker_two, &t), 0);

	/* Both stores hear from us; the one free slot goes to each in turn, never to both. */
	proto_msg hb = next_on(t.results[1], PROTO_HEARTBEAT);
	proto_msg_free(&hb);
	for (int i = 0; i < 3; i++) /* sent before store 1 was connected */
		next_share(t.results[0]);
	int seen[2] = {0, 0};
	for (int i = 0; i < 12; i++) {
		int32_t share = next_share(t.results[0]);
		assert_true(share == 0 || share == 1);
		seen[share]++;
	}
	assert_true(seen[0] > 0 && seen[1] > 0);

	/* A result goes back to the store that sent the job. */
	send_job_on(t.jobs[1], 7);
	expect_result(t.results[1], 7);
	send_job_on(t.jobs[0], 8);
	proto_msg r = next_on(t.results[0], PROTO_RESULT);
	assert_int_equal(r.u.result.incident_id, 8); /* not 7 */
	proto_msg_free(&r);

	/* Store 1 goes away: its job's result goes to store 0, which now gets every slot. */
	proto_sock_close(t.results[1]);
	send_job_on(t.jobs[1], 9);
	expect_result(t.results[0], 9);
	for (int i = 0; i < 3; i++)
		next_share(t.results[0]);
	for (int i = 0; i < 6; i++)
		assert_int_equal(next_share(t.results[0]), 1);

	kill(getpid(), SIGTERM);
	while (next_share(t.results[0]) != 0) /* until the heartbeat with no slots */
		;
	pthread_join(t.thread, NULL);
	assert_int_equal(t.exit_code, 0);
	for (int i = 0; i < 2; i++) {
		proto_sock_close(t.jobs[i]);
		if (i == 0)
			proto_sock_close(t.results[i]);
		snprintf(url, sizeof url, "%s/jobs%d.ipc", t.dir, i);
		unlink(url);
		snprintf(url, sizeof url, "%s/results%d.ipc", t.dir, i);
		unlink(url);
	}
	enr_config_free(&t.cfg);
	unsetenv("TRIAGE_JOBS_URL");
	unsetenv("TRIAGE_RESULTS_URL");
	rmdir(t.dir);
}

int main(void)
{
	tr_signal_block(); /* before any thread, as main.c does */
	tr_log_init("test", TR_LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_triage_and_bad_messages),
		cmocka_unit_test(test_sigterm_releases_in_flight_and_waiting),
		cmocka_unit_test(test_two_stores),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	proto_guard_stop(); /* the fake store's listeners were guarded: end the guard's thread */
	curl_global_cleanup();
	return rc;
}
