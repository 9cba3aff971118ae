/* llm_ollama: Ollama's /api/chat, non-streaming, constrained by the triage JSON schema;
 * and the /api/version probe the "auto" backend choice uses at start. */
#include "llm_ollama.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* keep_alive: a bare integer is seconds (Ollama takes a number), anything else a
 * duration string such as "5m". */
static json_t *keep_alive_value(const char *text)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno == 0 && end != text && *end == '\0')
		return json_integer(v);
	return json_string(text);
}

json_t *llm_ollama_request(const llm_request *rq, const char *system, const char *user)
{
	json_t *schema = triage_schema();
	if (!schema)
		return NULL;
	json_t *body = json_pack("{s:s, s:b, s:o, s:{s:i, s:I, s:I}, s:[{s:s, s:s}, {s:s, s:s}]}",
				 "model", rq->model, "stream", 0, "format", schema, "options",
				 "temperature", 0, "num_ctx", (json_int_t)rq->num_ctx, "num_predict",
				 (json_int_t)rq->num_predict, "messages", "role", "system", "content",
				 system, "role", "user", "content", user);
	if (body && rq->keep_alive && *rq->keep_alive &&
	    json_object_set_new(body, "keep_alive", keep_alive_value(rq->keep_alive)) != 0) {
		json_decref(body);
		return NULL;
	}
	return body;
}

llm_status llm_ollama_parse(const char *body, size_t len, triage_result *out, char *detail,
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
	s = llm_reply_answer(json_string_value(json_object_get(root, "done_reason")), "done_reason",
			     json_object_get(json_object_get(root, "message"), "content"),
			     "message.content", out, detail, dlen);
	if (s != LLM_OK)
		goto out;
	out->prompt_tokens = llm_count(json_object_get(root, "prompt_eval_count"));
	out->completion_tokens = llm_count(json_object_get(root, "eval_count"));
out:
	json_decref(root);
	return s;
}

const llm_api llm_ollama_api = {
	.name = "ollama",
	.path = "/api/chat",
	.build = llm_ollama_request,
	.parse = llm_ollama_parse,
};

bool llm_ollama_probe(llm_http *h, const char *base_url, long timeout_ms, char *version,
		      size_t vlen)
{
	char url[2048], detail[256];
	const char *reply = NULL;
	size_t reply_len = 0;
	size_t blen = strlen(base_url);
	while (blen > 0 && base_url[blen - 1] == '/')
		blen--;
	if ((size_t)snprintf(url, sizeof url, "%.*s/api/version", (int)blen, base_url) >= sizeof url)
		return false;
	if (llm_http_get(h, url, timeout_ms, &reply, &reply_len, detail, sizeof detail) != LLM_OK)
		return false;
	json_t *root = json_loadb(reply, reply_len, 0, NULL);
	json_t *v = json_object_get(root, "version");
	bool ok = json_is_string(v);
	if (ok)
		triage_clean_text(version, vlen, json_string_value(v), json_string_length(v));
	json_decref(root);
	return ok;
}
