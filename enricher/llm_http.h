/* llm_http: the one HTTP client both LLM backends use: a JSON POST (and a GET for the
 * start-up probe) over a per-thread libcurl handle that keeps its connection alive,
 * with a capped reply buffer, timeouts, a shutdown abort, and the mapping of curl
 * errors and HTTP statuses onto llm_status with the server's message as detail. */
#ifndef ENR_LLM_HTTP_H
#define ENR_LLM_HTTP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "llm.h"

/* Replies larger than this are refused (LLM_ERROR): a triage answer is a few KB. */
#define LLM_HTTP_REPLY_MAX (1024 * 1024)

/* One client: a CURL handle and its reply buffer. Use from one thread at a time;
 * curl_global_init() must have run before the first llm_http_new(). */
/* abort_flag (may be NULL) is polled during transfers: once it reads true, the call in
 * progress ends with LLM_ABORTED. It must outlive the client. Returns NULL when out of
 * memory. */
llm_http *llm_http_new(const atomic_bool *abort_flag);
void llm_http_free(llm_http *h);

/* POSTs body (serialised compactly) to url with Content-Type application/json and, if
 * bearer is non-empty, Authorization: Bearer. On LLM_OK (HTTP 200), *reply points into
 * the client's buffer (NUL-terminated, *reply_len bytes) until the next call on h.
 * Otherwise detail holds a one-line, bounded, cleaned explanation (the server's own
 * error message where it gave one). */
llm_status llm_http_post_json(llm_http *h, const char *url, const char *bearer,
			      const json_t *body, long timeout_ms, long connect_timeout_ms,
			      const char **reply, size_t *reply_len, char *detail, size_t dlen);

/* GETs url; LLM_OK on HTTP 200 with the reply as above. */
llm_status llm_http_get(llm_http *h, const char *url, long timeout_ms, const char **reply,
			size_t *reply_len, char *detail, size_t dlen);

/* The mapping, exposed for tests. curl_code is a CURLcode (0 = the transfer completed);
 * http_status the response code; body/len the reply (may be NULL). Returns the status
 * and writes the detail:
 *   couldn't connect / resolve, connection closed with nothing  -> LLM_UNAVAILABLE
 *   operation timed out                                         -> LLM_TIMEOUT
 *   aborted by the progress callback                            -> LLM_ABORTED
 *   reply over LLM_HTTP_REPLY_MAX, other curl failures          -> LLM_ERROR
 *   200 -> LLM_OK, 404 -> LLM_MODEL_NOT_FOUND, 503 and 429 -> LLM_BUSY, other -> LLM_ERROR
 * The detail of an HTTP error is "HTTP <status>: <message>", the message taken from
 * {"error": "..."} (Ollama) or {"error": {"message": "..."}} (OpenAI), else the body. */
llm_status llm_http_classify(int curl_code, long http_status, const char *body, size_t len,
			     char *detail, size_t dlen);

#endif
