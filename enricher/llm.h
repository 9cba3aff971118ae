/* llm: what the LLM backends (llm_ollama, llm_openai) share: the outcome of one call,
 * its reason names, and the parameters of one request. */
#ifndef ENR_LLM_H
#define ENR_LLM_H

#include <jansson.h>
#include <stddef.h>

#include "triage.h"

/* The outcome of one HTTP call to a model server, already classified. */
typedef enum {
	LLM_OK = 0,
	LLM_UNAVAILABLE,     /* refused, unreachable, unresolvable, closed without an answer */
	LLM_TIMEOUT,         /* no complete answer within the timeout */
	LLM_MODEL_NOT_FOUND, /* HTTP 404: the server does not have the model; never retried */
	LLM_BUSY,            /* HTTP 503 (Ollama's queue is full) or 429: retry later */
	LLM_ERROR,           /* any other HTTP status, an unusable reply envelope, a reply over the cap */
	LLM_INVALID_OUTPUT,  /* the model's answer is not a valid triage, or was truncated */
	LLM_ABORTED,         /* the enricher is stopping and gave up waiting */
} llm_status;

/* The reason recorded for a status: "ok", "llm_unavailable", "timeout",
 * "model_not_found", "llm_busy", "llm_error", "invalid_model_output", "shutdown". */
const char *llm_status_reason(llm_status s);

/* One triage request to a model server. Borrowed strings. */
typedef struct {
	const char *base_url;  /* "http://127.0.0.1:11434" (no trailing path) */
	const char *api_key;   /* openai: bearer token; NULL or "" for none. Never logged. */
	const char *model;     /* the model to ask for (never empty) */
	long timeout_ms;       /* whole call */
	long connect_timeout_ms;
	long num_ctx;          /* ollama: context window */
	long num_predict;      /* ollama num_predict / openai max_tokens */
	const char *keep_alive; /* ollama: "5m", "-1", "0"; NULL or "" to leave out */
} llm_request;

typedef struct llm_http llm_http;

typedef struct {
	const char *name; /* "ollama" | "openai": recorded as the triage's backend */
	const char *path; /* appended to the base URL: "/api/chat" */
	json_t *(*build)(const llm_request *rq, const char *system, const char *user);
	llm_status (*parse)(const char *body, size_t len, triage_result *out, char *detail,
			    size_t dlen);
} llm_api;

/* One triage call through api: builds the prompt and the request, posts it with
 * rq->api_key as bearer, parses the reply. On LLM_OK *out is a complete triage
 * (backend api->name, model rq->model, prompt_version PROMPT_VERSION, token counts;
 * latency_ms is the caller's to set). Otherwise detail (dlen bytes) says why. */
llm_status llm_call(const llm_api *api, llm_http *h, const llm_request *rq,
		    const triage_incident *in, triage_result *out, char *detail, size_t dlen);

/* A token counter from a reply: a non-negative integer, else -1 ("not reported"). */
int64_t llm_count(const json_t *v);

/* The steps both APIs' replies share, in order:
 * llm_reply_error: an "error" in the reply (a string, or an object with a "message") is
 *   the server's refusal: LLM_ERROR with "error: <message>" in detail; else LLM_OK.
 * llm_reply_answer: a finish reason "length" (named finish_field in the detail) is a
 *   truncated answer; content must be a string (content_path in the detail) holding the
 *   triage JSON, parsed and validated into out. LLM_OK or LLM_INVALID_OUTPUT. */
llm_status llm_reply_error(const json_t *root, char *detail, size_t dlen);
llm_status llm_reply_answer(const char *finish, const char *finish_field, const json_t *content,
			    const char *content_path, triage_result *out, char *detail,
			    size_t dlen);

#endif
