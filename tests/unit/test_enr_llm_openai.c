/* test_enr_llm_openai: the /v1/chat/completions request body (json_schema response
 * format, strict, temperature 0, max_tokens) and the parsing of its replies: answers,
 * usage counters, finish_reason "length", refusals, error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "llm_openai.h"

#define ANSWER "{\\\"summary\\\":\\\"Checkout fails.\\\",\\\"severity\\\":\\\"high\\\",\\\"category\\\":\\\"application\\\",\\\"suggested_actions\\\":[],\\\"confidence\\\":0.7}"

static llm_status parse(const char *body, triage_result *t, char *detail, size_t dlen)
{
	memset(t, 0, sizeof *t);
	return llm_openai_parse(body, strlen(body), t, detail, dlen);
}

static void test_request(void **state)
{
	(void)state;
	llm_request rq = {.base_url = "http://x", .model = "qwen2.5", .num_predict = 300};
	json_t *b = llm_openai_request(&rq, "SYS", "USER");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "model")), "qwen2.5");
	assert_int_equal(json_integer_value(json_object_get(b, "temperature")), 0);
	assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), 300);
	json_t *rf = json_object_get(b, "response_format");
	assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_schema");
	json_t *js = json_object_get(rf, "json_schema");
	assert_string_equal(json_string_value(json_object_get(js, "name")), "triage");
	assert_true(json_is_true(json_object_get(js, "strict")));
	assert_true(json_is_object(json_object_get(js, "schema")));
	json_t *msgs = json_object_get(b, "messages");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "USER");
	json_decref(b);
}

static void test_answer(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	const char *reply = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"q\","
			    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" ANSWER "\"},"
			    "\"finish_reason\":\"stop\"}],"
			    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":40,\"total_tokens\":160}}";
	assert_int_equal(parse(reply, &t, detail, sizeof detail), LLM_OK);
	assert_string_equal(t.category, "application");
	assert_int_equal(t.prompt_tokens, 120);
	assert_int_equal(t.completion_tokens, 40);

	const char *no_usage = "{\"choices\":[{\"message\":{\"content\":\"" ANSWER "\"}}]}";
	assert_int_equal(parse(no_usage, &t, detail, sizeof detail), LLM_OK);
	assert_int_equal(t.prompt_tokens, -1);
}

static void test_truncated_and_wrong(void **state)
{
	(void)state;
	triage_result t;
	char detail[300];
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":\"" ANSWER "\"},"
			       "\"finish_reason\":\"length\"}]}",
			       &t, detail, sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_non_null(strstr(detail, "truncated"));
	assert_int_equal(parse("{\"choices\":[]}", &t, detail, sizeof detail), LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"no\"}}]}",
			       &t, detail, sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":\"{}\"}}]}", &t, detail,
			       sizeof detail),
			 LLM_INVALID_OUTPUT);
	assert_int_equal(parse("{\"error\":{\"message\":\"context length exceeded\"}}", &t, detail,
			       sizeof detail),
			 LLM_ERROR);
	assert_non_null(strstr(detail, "context length exceeded"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_truncated_and_wrong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
