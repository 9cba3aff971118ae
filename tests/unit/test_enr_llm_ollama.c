/* test_enr_llm_ollama: the /api/chat request body (stream false, schema format,
 * options, keep_alive, delimited messages) and the parsing of Ollama's replies:
 * answers, token counters, done_reason "length", error bodies, wrong envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "llm_ollama.h"

#define ANSWER "{\\\"summary\\\":\\\"Disk full.\\\",\\\"severity\\\":\\\"high\\\",\\\"category\\\":\\\"storage\\\",\\\"suggested_actions\\\":[\\\"Free space\\\"],\\\"confidence\\\":0.8}"

static llm_status parse(const char *body, triage_result *t, char *detail, size_t dlen)
{
	memset(t, 0, sizeof *t);
	return llm_ollama_parse(body, strlen(body), t, detail, dlen);
}

static void test_request(void **state)
{
	(void)state;
	llm_request rq = {.base_url = "http://x", .model = "phi3:mini", .num_ctx = 4096,
			  .num_predict = 512, .keep_alive = "5m"};
	json_t *b = llm_ollama_request(&rq, "SYS", "USER");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "model")), "phi3:mini");
	assert_true(json_is_false(json_object_get(b, "stream")));
	json_t *fmt = json_object_get(b, "format");
	assert_true(json_is_object(fmt));
	assert_string_equal(json_string_value(json_object_get(fmt, "type")), "object");
	json_t *opt = json_object_get(b, "options");
	assert_int_equal(json_integer_value(json_object_get(opt, "temperature")), 0);
	assert_int_equal(json_integer_value(json_object_get(opt, "num_ctx")), 4096);
	assert_int_equal(json_integer_value(json_object_get(opt, "num_predict")), 512);
	assert_string_equal(json_string_value(json_object_get(b, "keep_alive")), "5m");
	json_t *msgs = json_object_get(b, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), "SYS");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
	json_decref(b);

	/* A bare number of seconds goes as a number; empty leaves the server's default. */
	rq.keep_alive = "-1";
	b = llm_ollama_request(&rq, "S", "U");
	assert_int_equal(json_integer_value(json_object_get(b, "keep_alive")), -1);
	json_decref(b);
	rq.keep_alive = "";
	b = llm_ollama_request(&rq, "S", "U");
	assert_null(json_object_get(b, "keep_alive"));
	json_decref(b);
}

static void test_answer(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	const char *reply = "{\"model\":\"phi3:mini\",\"created_at\":\"2026-11-25T13:00:00Z\","
			    "\"message\":{\"role\":\"assistant\",\"content\":\"" ANSWER "\"},"
			    "\"done_reason\":\"stop\",\"done\":true,\"total_duration\":5191566416,"
			    "\"prompt_eval_count\":26,\"eval_count\":298}";
	assert_int_equal(parse(reply, &t, detail, sizeof detail), LLM_OK);
	assert_string_equal(t.summary, "Disk full.");
	assert_string_equal(t.severity, "high");
	assert_string_equal(t.category, "storage");
	assert_int_equal(t.prompt_tokens, 26);
	assert_int_equal(t.completion_tokens, 298);

	/* Counters absent or nonsense: "not reported". */
	const char *bare = "{\"message\":{\"content\":\"" ANSWER "\"},\"done\":true,"
			   "\"prompt_eval_count\":-3,\"eval_count\":\"many\"}";
	assert_int_equal(parse(bare, &t, detail, sizeof detail), LLM_OK);
	assert_int_equal(t.prompt_tokens, -1);
	assert_int_equal(t.completion_tokens, -1);
}

static void test_truncated(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	/* Even a parseable answer is not an answer when the model ran out of tokens. */
	const char *reply = "{\"message\":{\"content\":\"" ANSWER "\"},\"done\":true,"
			    "\"done_reason\":\"length\",\"eval_count\":512}";
	assert_int_equal(parse(reply, &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
	assert_non_null(strstr(detail, "truncated"));
	const char *cut = "{\"message\":{\"content\":\"{\\\"summary\\\":\\\"Disk\"},"
			  "\"done\":true,\"done_reason\":\"length\"}";
	assert_int_equal(parse(cut, &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
}

static void test_wrong(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	assert_int_equal(parse("not json", &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
	assert_int_equal(parse("[]", &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"done\":true}", &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
	assert_non_null(strstr(detail, "message.content"));
	assert_int_equal(parse("{\"message\":{\"content\":42}}", &t, detail, sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"message\":{\"content\":\"Sure! Here is the triage: high\"}}", &t,
			       detail, sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"message\":{\"content\":\"{\\\"summary\\\":\\\"x\\\","
			       "\\\"severity\\\":\\\"apocalyptic\\\",\\\"category\\\":\\\"other\\\","
			       "\\\"suggested_actions\\\":[],\\\"confidence\\\":0.1}\"}}",
			       &t, detail, sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_non_null(strstr(detail, "severity"));
}

static void test_error_body(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	assert_int_equal(parse("{\"error\":\"an unknown error was encountered while running the model\"}",
			       &t, detail, sizeof detail),
			 LLM_ERROR);
	assert_non_null(strstr(detail, "unknown error was encountered"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong),
		cmocka_unit_test(test_error_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
