/* llm: the call sequence both LLM backends share (prompt, request, POST, parse,
 * provenance) and the names of the outcomes. */
#include "llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_http.h"
#include "prompt.h"

const char *llm_status_reason(llm_status s)
{
	switch (s) {
	case LLM_OK: return "ok";
	case LLM_UNAVAILABLE: return "llm_unavailable";
	case LLM_TIMEOUT: return "timeout";
	case LLM_MODEL_NOT_FOUND: return "model_not_found";
	case LLM_BUSY: return "llm_busy";
	case LLM_ERROR: return "llm_error";
	case LLM_INVALID_OUTPUT: return "invalid_model_output";
	case LLM_ABORTED: return "shutdown";
	}
	return "llm_error";
}

int64_t llm_count(const json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return (int64_t)json_integer_value(v);
}

llm_status llm_reply_error(const json_t *root, char *detail, size_t dlen)
{
	const json_t *err = json_object_get(root, "error");
	if (json_is_object(err))
		err = json_object_get(err, "message");
	if (!json_is_string(err))
		return LLM_OK;
	char msg[PROTO_DETAIL_MAX - 16];
	triage_clean_text(msg, sizeof msg, json_string_value(err), json_string_length(err));
	snprintf(detail, dlen, "error: %s", msg);
	return LLM_ERROR;
}

llm_status llm_reply_answer(const char *finish, const char *finish_field, const json_t *content,
			    const char *content_path, triage_result *out, char *detail,
			    size_t dlen)
{
	char why[200];
	if (finish && strcmp(finish, "length") == 0) {
		snprintf(detail, dlen, "truncated answer (%s length)", finish_field);
		return LLM_INVALID_OUTPUT;
	}
	if (!json_is_string(content)) {
		snprintf(detail, dlen, "reply has no %s", content_path);
		return LLM_INVALID_OUTPUT;
	}
	if (!triage_parse_json(json_string_value(content), json_string_length(content), out, why,
			       sizeof why)) {
		snprintf(detail, dlen, "%s", why);
		return LLM_INVALID_OUTPUT;
	}
	triage_parse_similar_used(json_string_value(content), json_string_length(content), NULL,
				  out);
	return LLM_OK;
}

llm_status llm_call(const llm_api *api, llm_http *h, const llm_request *rq,
		    const triage_incident *in, triage_result *out, char *detail, size_t dlen)
{
	llm_status s = LLM_ERROR;
	char *user = NULL;
	json_t *body = NULL;
	char url[2048];
	const char *reply = NULL;
	size_t reply_len = 0;
	triage_result t;

	memset(&t, 0, sizeof t);
	t.prompt_tokens = t.completion_tokens = -1;
	size_t blen = strlen(rq->base_url);
	while (blen > 0 && rq->base_url[blen - 1] == '/')
		blen--;
	if ((size_t)snprintf(url, sizeof url, "%.*s%s", (int)blen, rq->base_url, api->path) >=
	    sizeof url) {
		snprintf(detail, dlen, "LLM URL too long");
		goto out;
	}
	if (!(user = prompt_user_message(in))) {
		snprintf(detail, dlen, "out of memory building the prompt");
		goto out;
	}
	if (!(body = api->build(rq, prompt_system(), user))) {
		snprintf(detail, dlen, "out of memory building the request");
		goto out;
	}
	s = llm_http_post_json(h, url, rq->api_key, body, rq->timeout_ms, rq->connect_timeout_ms,
			       &reply, &reply_len, detail, dlen);
	if (s != LLM_OK)
		goto out;
	s = api->parse(reply, reply_len, &t, detail, dlen);
	if (s != LLM_OK)
		goto out;
	snprintf(t.backend, sizeof t.backend, "%s", api->name);
	snprintf(t.model, sizeof t.model, "%s", rq->model);
	snprintf(t.prompt_version, sizeof t.prompt_version, "%s", PROMPT_VERSION);
	triage_filter_similar_used(in, &t);
	char why[160];
	if (!triage_validate(&t, why, sizeof why)) {
		snprintf(detail, dlen, "%s", why);
		s = LLM_INVALID_OUTPUT;
		goto out;
	}
	*out = t;
out:
	json_decref(body);
	free(user);
	return s;
}
