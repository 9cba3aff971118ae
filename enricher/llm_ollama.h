/* llm_ollama: the Ollama backend: POST {url}/api/chat with stream false, the triage JSON
 * schema as `format`, temperature 0, num_ctx, num_predict and keep_alive; the reply's
 * message.content is the triage. done_reason "length" is truncated output, not an answer. */
#ifndef ENR_LLM_OLLAMA_H
#define ENR_LLM_OLLAMA_H

#include <jansson.h>

#include "llm.h"
#include "llm_http.h"
#include "triage.h"

/* The request body for one incident (a new reference; NULL when out of memory). */
json_t *llm_ollama_request(const llm_request *rq, const char *system, const char *user);

/* Parses an HTTP 200 reply from /api/chat into the triage fields and token counts of
 * *out (provenance other than tokens untouched). LLM_OK; LLM_INVALID_OUTPUT when the
 * reply or the answer in it is not a valid triage, or done_reason is "length"; LLM_ERROR
 * when the reply carries {"error": ...}. detail says why. */
llm_status llm_ollama_parse(const char *body, size_t len, triage_result *out, char *detail,
			    size_t dlen);

/* The backend for llm_call (name "ollama"). */
extern const llm_api llm_ollama_api;

/* Start-up probe: GET {url}/api/version. True if it answers 200 with {"version": "..."};
 * the version (cleaned) is copied into version. */
bool llm_ollama_probe(llm_http *h, const char *base_url, long timeout_ms, char *version,
		      size_t vlen);

#endif
