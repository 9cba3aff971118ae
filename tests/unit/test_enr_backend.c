/* test_enr_backend: the backend choice at start and the outcome policy around a call,
 * against real sockets: a refused port (llm_unavailable, or rules with the fallback), a
 * listener that never answers (timeout), a shutdown abort (released), and rules. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "enr_backend.h"
#include "tr_log.h"

static int loopback_socket(bool do_listen, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

typedef struct {
	enr_config cfg;
	char url[64];
	llm_http *h;
	atomic_bool abort_flag;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char err[200];
	setenv("TRIAGE_LLM_TIMEOUT_MS", "400", 1);
	setenv("TRIAGE_BUSY_BACKOFF_MS", "10", 1);
	if (enr_config_load(&f->cfg, err, sizeof err) != 0)
		return -1;
	atomic_init(&f->abort_flag, false);
	f->h = llm_http_new(&f->abort_flag);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	llm_http_free(f->h);
	enr_config_free(&f->cfg);
	free(f);
	return 0;
}

static const triage_incident incident = {
	.id = 7,
	.title = "Primary database down",
	.description = "postgres on db-1 refuses connections; checkout fails for all users",
};

/* Points both LLM URLs at 127.0.0.1:port (the config's strings are ours to replace). */
static void point_at(fixture *f, int port)
{
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", port);
	free(f->cfg.ollama_url);
	free(f->cfg.openai_url);
	f->cfg.ollama_url = strdup(f->url);
	f->cfg.openai_url = strdup(f->url);
}

static void set_fallback(fixture *f, const char *v)
{
	free(f->cfg.fallback);
	f->cfg.fallback = strdup(v);
}

static void test_rules_backend(void **state)
{
	fixture *f = *state;
	enr_backend b = {.kind = ENR_BACKEND_RULES, .cfg = &f->cfg};
	enr_outcome o;
	enr_backend_run(&b, NULL, &incident, "ignored", 0, &o);
	assert_int_equal(o.outcome, PROTO_OUTCOME_TRIAGED);
	assert_string_equal(o.triage.backend, "rules");
	assert_string_equal(o.triage.category, "database");
	assert_int_equal(o.llm_calls, 0);
	assert_false(o.fell_back);
}

static void test_refused_fails_or_falls_back(void **state)
{
	fixture *f = *state;
	int port;
	close(loopback_socket(false, &port));
	point_at(f, port);
	enr_outcome o;
	for (int k = ENR_BACKEND_OLLAMA; k <= ENR_BACKEND_OPENAI; k++) {
		enr_backend b = {.kind = (enr_backend_kind)k, .cfg = &f->cfg, .abort_flag = &f->abort_flag};
		set_fallback(f, "fail");
		enr_backend_run(&b, f->h, &incident, "", 0, &o);
		assert_int_equal(o.outcome, PROTO_OUTCOME_FAILED);
		assert_string_equal(o.reason, "llm_unavailable");
		assert_true(o.detail[0] != '\0');
		assert_int_equal(o.llm_calls, 1); /* not retried */

		set_fallback(f, "rules");
		enr_backend_run(&b, f->h, &incident, "", 0, &o);
		assert_int_equal(o.outcome, PROTO_OUTCOME_TRIAGED);
		assert_true(o.fell_back);
		assert_string_equal(o.triage.backend, "rules");
		assert_string_equal(o.reason, "llm_unavailable");
	}
	set_fallback(f, "fail");
}

static void test_timeout(void **state)
{
	fixture *f = *state;
	int port;
	int fd = loopback_socket(true, &port);
	point_at(f, port);
	enr_backend b = {.kind = ENR_BACKEND_OLLAMA, .cfg = &f->cfg, .abort_flag = &f->abort_flag};
	enr_outcome o;
	enr_backend_run(&b, f->h, &incident, "phi3:mini", 0, &o);
	assert_int_equal(o.outcome, PROTO_OUTCOME_FAILED);
	assert_string_equal(o.reason, "timeout");
	assert_int_equal(o.llm_calls, 1);
	close(fd);
}

static void test_abort_releases(void **state)
{
	fixture *f = *state;
	int port;
	int fd = loopback_socket(true, &port);
	point_at(f, port);
	set_fallback(f, "rules"); /* a shutdown is not an LLM failure: no fallback */
	atomic_store(&f->abort_flag, true);
	enr_backend b = {.kind = ENR_BACKEND_OLLAMA, .cfg = &f->cfg, .abort_flag = &f->abort_flag};
	enr_outcome o;
	enr_backend_run(&b, f->h, &incident, "phi3:mini", 0, &o);
	assert_int_equal(o.outcome, PROTO_OUTCOME_RELEASED);
	assert_string_equal(o.reason, "shutdown");
	atomic_store(&f->abort_flag, false);
	set_fallback(f, "fail");
	close(fd);
}

static void test_choose(void **state)
{
	fixture *f = *state;
	const char *names[] = {"ollama", "openai", "rules", "model"};
	for (int i = 0; i < 4; i++) {
		free(f->cfg.backend);
		f->cfg.backend = strdup(names[i]);
		assert_int_equal(enr_backend_choose(&f->cfg, f->h), (enr_backend_kind)i);
		assert_string_equal(enr_backend_name((enr_backend_kind)i), names[i]);
	}
	/* auto with nothing answering: the built-in model. */
	int port;
	close(loopback_socket(false, &port));
	point_at(f, port);
	free(f->cfg.backend);
	f->cfg.backend = strdup("auto");
	assert_int_equal(enr_backend_choose(&f->cfg, f->h), ENR_BACKEND_MODEL);
}

int main(void)
{
	tr_log_init("test", TR_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rules_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_fails_or_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_choose, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
