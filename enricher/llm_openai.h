/* llm_openai: the OpenAI-compatible backend (llama.cpp's server, vLLM, LM Studio,
 * Ollama's /v1): POST {url}/v1/chat/completions with response_format json_schema
 * (strict), temperature 0, max_tokens and an optional bearer key; the answer is
 * choices[0].message.content. finish_reason "length" is truncated output. */
#ifndef ENR_LLM_OPENAI_H
#define ENR_LLM_OPENAI_H

#include <jansson.h>

#include "llm.h"
#include "llm_http.h"
#include "triage.h"

/* The request body for one incident (a new reference; NULL when out of memory). */
json_t *llm_openai_request(const llm_request *rq, const char *system, const char *user);

/* Parses an HTTP 200 reply into the triage fields and token counts (usage.prompt_tokens,
 * usage.completion_tokens) of *out. Returns as llm_ollama_parse. */
llm_status llm_openai_parse(const char *body, size_t len, triage_result *out, char *detail,
			    size_t dlen);

/* The backend for llm_call (name "openai"). */
extern const llm_api llm_openai_api;

#endif
