/* enr_backend: one triage of one incident with the configured backend and the retry
 * policy around it (busy backoff, one retry of invalid output, fallback to rules),
 * mapped onto a proto outcome. Used by the worker threads and the one-shot mode. */
#ifndef ENR_BACKEND_H
#define ENR_BACKEND_H

#include <stdatomic.h>
#include <stdint.h>

#include "enr_config.h"
#include "enr_model.h"
#include "llm.h"
#include "llm_http.h"
#include "proto.h"
#include "triage.h"

typedef enum {
	ENR_BACKEND_OLLAMA,
	ENR_BACKEND_OPENAI,
	ENR_BACKEND_RULES,
	ENR_BACKEND_MODEL, /* the built-in trained model (rules until one is available) */
} enr_backend_kind;

/* What every call shares: read-only after start, so threads use it without locks. */
typedef struct {
	enr_backend_kind kind;
	const enr_config *cfg;         /* borrowed; outlives the backend */
	const atomic_bool *abort_flag; /* may be NULL; true: give up waiting (shutdown) */
	enr_model *models;             /* backend model: the versions held (NULL: none, rules) */
} enr_backend;

/* The outcome of one job. */
typedef struct {
	int outcome;                          /* proto_outcome: TRIAGED, FAILED, RETRY, RELEASED */
	char reason[48];                      /* FAILED/RETRY/RELEASED, or the LLM failure a
					       * rules fallback replaced ("" otherwise) */
	char detail[PROTO_DETAIL_MAX + 1];    /* bounded, cleaned; "" if none */
	triage_result triage;                 /* TRIAGED: validated; provenance set */
	bool fell_back;                       /* TRIAGED by rules after the LLM failed */
	int llm_calls;                        /* HTTP calls made */
} enr_outcome;

/* "ollama" | "openai" | "rules" | "model". */
const char *enr_backend_name(enr_backend_kind k);

/* Chooses the backend from cfg->backend; "auto" probes cfg->ollama_url/api/version with
 * h (ollama if it answers, else model) and logs the choice and why. */
enr_backend_kind enr_backend_choose(const enr_config *cfg, llm_http *h);

/* Triages one incident with the model `model` ("" or NULL: cfg->model). deadline_ms is
 * a wall-clock time (the job's lease; 0 = none) after which no busy retry is started.
 * h is the calling thread's client (unused by the rules backend, may be NULL then).
 * Mapping (README of enricher/ and the issue):
 *   triage valid                   -> TRIAGED
 *   LLM_UNAVAILABLE / LLM_TIMEOUT  -> FAILED llm_unavailable / timeout
 *   LLM_MODEL_NOT_FOUND            -> FAILED model_not_found (no retry)
 *   LLM_BUSY                       -> retried cfg->busy_retries times with backoff, then RETRY llm_busy
 *   LLM_ERROR                      -> FAILED llm_error (the server's message in detail)
 *   LLM_INVALID_OUTPUT             -> retried once, then FAILED invalid_model_output
 *   LLM_ABORTED                    -> RELEASED shutdown
 * With cfg->fallback "rules", every FAILED and RETRY above becomes TRIAGED by the rules
 * backend, keeping the LLM's reason and detail in reason/detail and fell_back set. */
void enr_backend_run(const enr_backend *b, llm_http *h, const triage_incident *in,
		     const char *model, int64_t deadline_ms, enr_outcome *out);

#endif
