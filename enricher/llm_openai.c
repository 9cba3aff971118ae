/* llm_openai: OpenAI-compatible /v1/chat/completions with a strict json_schema
 * response_format, for llama.cpp's server, vLLM, LM Studio and Ollama's /v1. */
#include "llm_openai.h"

#include <stdio.h>
#include <string.h>

json_t *llm_openai_request(const llm_request *rq, const char *system, const char *user)
{
	json_t *schema = triage_schema();
	if (!schema)
		return NULL;
	return json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i, s:I, s:b, "
			 "s:{s:s, s:{s:s, s:b, s:o}}}",
			 "model", rq->model, "messages", "role", "system", "content", system,
			 "role", "user", "content", user, "temperature", 0, "max_tokens",
			 (json_int_t)rq->num_predict, "stream", 0, "response_format", "type",
			 "json_schema", "json_schema", "name", "triage", "strict", 1, "schema",
			 schema);
}

llm_status llm_openai_parse(const char *body, size_t len, triage_result *out, char *detail,
			    size_t dlen)
{
	llm_status s = LLM_INVALID_OUTPUT;
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);

	if (!json_is_object(root)) {
		snprintf(detail, dlen, "reply is not a JSON object");
		goto out;
	}
	s = llm_reply_error(root, detail, dlen);
	if (s != LLM_OK)
		goto out;
	json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
	if (!json_is_object(choice)) {
		snprintf(detail, dlen, "reply has no choices[0]");
		s = LLM_INVALID_OUTPUT;
		goto out;
	}
	json_t *content = json_object_get(json_object_get(choice, "message"), "content");
	s = llm_reply_answer(json_string_value(json_object_get(choice, "finish_reason")),
			     "finish_reason", content, "choices[0].message.content", out, detail,
			     dlen);
	if (s != LLM_OK)
		goto out;
	json_t *usage = json_object_get(root, "usage");
	out->prompt_tokens = llm_count(json_object_get(usage, "prompt_tokens"));
	out->completion_tokens = llm_count(json_object_get(usage, "completion_tokens"));
out:
	json_decref(root);
	return s;
}

const llm_api llm_openai_api = {
	.name = "openai",
	.path = "/v1/chat/completions",
	.build = llm_openai_request,
	.parse = llm_openai_parse,
};
