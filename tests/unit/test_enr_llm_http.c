/* test_enr_llm_http: the mapping of curl errors and HTTP statuses onto outcomes, with
 * the server's message as bounded, cleaned detail; and the real client against a port
 * that refuses, a socket that never answers (timeout), and a shutdown abort. */
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

#include "llm_http.h"
#include "proto.h"
#include "tr_time.h"

static void expect(int curl_code, long status, const char *body, llm_status want,
		   const char *want_detail)
{
	char detail[PROTO_DETAIL_MAX + 1];
	llm_status got = llm_http_classify(curl_code, status, body, body ? strlen(body) : 0, detail,
					   sizeof detail);
	if (got != want || (want_detail && !strstr(detail, want_detail)))
		fail_msg("curl %d / HTTP %ld: got %s '%s', want %s '%s'", curl_code, status,
			 llm_status_reason(got), detail, llm_status_reason(want),
			 want_detail ? want_detail : "");
}

static void test_curl_errors(void **state)
{
	(void)state;
	expect(CURLE_COULDNT_CONNECT, 0, NULL, LLM_UNAVAILABLE, NULL);
	expect(CURLE_COULDNT_RESOLVE_HOST, 0, NULL, LLM_UNAVAILABLE, NULL);
	expect(CURLE_GOT_NOTHING, 0, NULL, LLM_UNAVAILABLE, NULL);
	expect(CURLE_RECV_ERROR, 0, NULL, LLM_UNAVAILABLE, NULL);
	expect(CURLE_OPERATION_TIMEDOUT, 0, NULL, LLM_TIMEOUT, NULL);
	expect(CURLE_ABORTED_BY_CALLBACK, 0, NULL, LLM_ABORTED, NULL);
	expect(CURLE_URL_MALFORMAT, 0, NULL, LLM_ERROR, NULL);
}

static void test_http_statuses(void **state)
{
	(void)state;
	expect(0, 200, "{}", LLM_OK, NULL);
	expect(0, 404, "{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}",
	       LLM_MODEL_NOT_FOUND, "HTTP 404: model \"llama9\" not found");
	expect(0, 404, "{\"error\":{\"message\":\"The model `x` does not exist\",\"type\":\"invalid_request_error\"}}",
	       LLM_MODEL_NOT_FOUND, "The model `x` does not exist");
	expect(0, 503, "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}",
	       LLM_BUSY, "server busy");
	expect(0, 429, "{\"error\":{\"message\":\"rate limited\"}}", LLM_BUSY, "rate limited");
	expect(0, 500, "{\"error\":\"llama runner process has terminated\"}", LLM_ERROR,
	       "HTTP 500: llama runner process has terminated");
	expect(0, 400, "{\"error\":\"invalid format\"}", LLM_ERROR, "invalid format");
	expect(0, 401, "", LLM_ERROR, "HTTP 401: (no message)");
	expect(0, 502, "<html>Bad\tGateway\n</html>", LLM_ERROR, "HTTP 502: <html>Bad Gateway </html>");
}

/* A huge, hostile error body becomes a bounded detail of clean UTF-8. */
static void test_detail_bounded_and_clean(void **state)
{
	(void)state;
	size_t n = 20000;
	char *body = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)(i % 7 == 0 ? 0x01 : i % 11 == 0 ? 0xFF : 'x');
	body[n] = '\0';
	char detail[PROTO_DETAIL_MAX + 1];
	assert_int_equal(llm_http_classify(0, 500, body, n, detail, sizeof detail), LLM_ERROR);
	assert_true(strlen(detail) <= PROTO_DETAIL_MAX);
	for (const unsigned char *p = (const unsigned char *)detail; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x80);
	free(body);
}

/* A loopback port with nothing listening on it. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A listening socket that never accepts: connections complete, nothing ever answers. */
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

static llm_status post(llm_http *h, int port, long timeout_ms, char *detail, size_t dlen)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/chat", port);
	json_t *body = json_pack("{s:s}", "model", "m");
	const char *reply = NULL;
	size_t len = 0;
	llm_status s = llm_http_post_json(h, url, "secret-key", body, timeout_ms, timeout_ms, &reply,
					  &len, detail, dlen);
	json_decref(body);
	return s;
}

static void test_refused(void **state)
{
	(void)state;
	llm_http *h = llm_http_new(NULL);
	char detail[PROTO_DETAIL_MAX + 1];
	assert_int_equal(post(h, closed_port(), 2000, detail, sizeof detail), LLM_UNAVAILABLE);
	assert_null(strstr(detail, "secret-key"));
	llm_http_free(h);
}

static void test_timeout(void **state)
{
	(void)state;
	int port;
	int fd = silent_listener(&port);
	llm_http *h = llm_http_new(NULL);
	char detail[PROTO_DETAIL_MAX + 1];
	int64_t t0 = tr_mono_ms();
	assert_int_equal(post(h, port, 300, detail, sizeof detail), LLM_TIMEOUT);
	int64_t took = tr_mono_ms() - t0;
	assert_true(took >= 250 && took < 5000);
	llm_http_free(h);
	close(fd);
}

static void test_abort(void **state)
{
	(void)state;
	int port;
	int fd = silent_listener(&port);
	atomic_bool stop;
	atomic_init(&stop, true);
	llm_http *h = llm_http_new(&stop);
	char detail[PROTO_DETAIL_MAX + 1];
	int64_t t0 = tr_mono_ms();
	assert_int_equal(post(h, port, 30000, detail, sizeof detail), LLM_ABORTED);
	assert_true(tr_mono_ms() - t0 < 5000);
	assert_string_equal(llm_status_reason(LLM_ABORTED), "shutdown");
	llm_http_free(h);
	close(fd);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(llm_status_reason(LLM_UNAVAILABLE), "llm_unavailable");
	assert_string_equal(llm_status_reason(LLM_TIMEOUT), "timeout");
	assert_string_equal(llm_status_reason(LLM_MODEL_NOT_FOUND), "model_not_found");
	assert_string_equal(llm_status_reason(LLM_BUSY), "llm_busy");
	assert_string_equal(llm_status_reason(LLM_ERROR), "llm_error");
	assert_string_equal(llm_status_reason(LLM_INVALID_OUTPUT), "invalid_model_output");
}

static int setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_errors),
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_detail_bounded_and_clean),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
