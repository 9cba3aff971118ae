/* enr_backend: the choice of backend at start and the policy around one triage: which
 * failures are retried here, which are final, which go back to the store, and the
 * optional fallback to the built-in rules. */
#include "enr_backend.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llm_ollama.h"
#include "llm_openai.h"
#include "rules.h"
#include "tr_log.h"
#include "tr_time.h"

#define BACKOFF_MAX_FACTOR 8

const char *enr_backend_name(enr_backend_kind k)
{
	switch (k) {
	case ENR_BACKEND_OLLAMA: return "ollama";
	case ENR_BACKEND_OPENAI: return "openai";
	case ENR_BACKEND_RULES: return "rules";
	case ENR_BACKEND_MODEL: return "model";
	}
	return "rules";
}

enr_backend_kind enr_backend_choose(const enr_config *cfg, llm_http *h)
{
	if (strcmp(cfg->backend, "ollama") == 0)
		return ENR_BACKEND_OLLAMA;
	if (strcmp(cfg->backend, "openai") == 0)
		return ENR_BACKEND_OPENAI;
	if (strcmp(cfg->backend, "rules") == 0) {
		tr_warn("backend rules: the old keyword tables, kept for comparison; the built-in "
			"backend is now the trained model (TRIAGE_LLM_BACKEND=model)");
		return ENR_BACKEND_RULES;
	}
	if (strcmp(cfg->backend, "model") == 0)
		return ENR_BACKEND_MODEL;
	char version[64] = "";
	if (h && llm_ollama_probe(h, cfg->ollama_url, cfg->probe_timeout_ms, version,
				  sizeof version)) {
		tr_info("backend auto: Ollama %s answers at %s, using backend ollama", version,
			cfg->ollama_url);
		return ENR_BACKEND_OLLAMA;
	}
	tr_warn("backend auto: no Ollama answering at %s/api/version, using the built-in "
		"model backend (the rules until the store has trained a model; set "
		"TRIAGE_LLM_BACKEND to choose)",
		cfg->ollama_url);
	return ENR_BACKEND_MODEL;
}

static bool aborted(const enr_backend *b)
{
	return b->abort_flag && atomic_load(b->abort_flag);
}

/* Sleeps ms, waking early (false) when the abort flag rises. */
static bool backoff_sleep(const enr_backend *b, long ms)
{
	int64_t until = tr_mono_ms() + ms;
	for (;;) {
		if (aborted(b))
			return false;
		int64_t left = until - tr_mono_ms();
		if (left <= 0)
			return true;
		if (left > 20)
			left = 20;
		struct timespec ts = {0, (long)left * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static llm_status call_llm(const enr_backend *b, llm_http *h, const triage_incident *in,
			   const char *model, enr_outcome *out)
{
	const enr_config *cfg = b->cfg;
	llm_request rq = {
		.base_url = b->kind == ENR_BACKEND_OPENAI ? cfg->openai_url : cfg->ollama_url,
		.api_key = b->kind == ENR_BACKEND_OPENAI ? cfg->openai_key : NULL,
		.model = model,
		.timeout_ms = cfg->timeout_ms,
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.num_ctx = cfg->num_ctx,
		.num_predict = cfg->num_predict,
		.keep_alive = cfg->keep_alive,
	};
	const llm_api *api = b->kind == ENR_BACKEND_OPENAI ? &llm_openai_api : &llm_ollama_api;
	out->llm_calls++;
	return llm_call(api, h, &rq, in, &out->triage, out->detail, sizeof out->detail);
}

/* The LLM path: returns the final status after the retries this enricher makes. */
static llm_status run_llm(const enr_backend *b, llm_http *h, const triage_incident *in,
			  const char *model, int64_t deadline_ms, enr_outcome *out)
{
	long busy_left = b->cfg->busy_retries;
	long backoff = b->cfg->busy_backoff_ms;
	bool invalid_retried = false;

	for (;;) {
		llm_status s = call_llm(b, h, in, model, out);
		if (s == LLM_BUSY && busy_left > 0) {
			if (deadline_ms > 0 && tr_now_ms() + backoff >= deadline_ms)
				return s; /* the lease would pass while waiting */
			tr_idebug(in->id, "LLM busy (%s); retrying in %ld ms", out->detail, backoff);
			busy_left--;
			if (!backoff_sleep(b, backoff))
				return LLM_ABORTED;
			if (backoff < b->cfg->busy_backoff_ms * BACKOFF_MAX_FACTOR)
				backoff *= 2;
			continue;
		}
		if (s == LLM_INVALID_OUTPUT && !invalid_retried) {
			tr_iinfo(in->id, "invalid model output (%s); retrying once", out->detail);
			invalid_retried = true;
			if (aborted(b))
				return LLM_ABORTED;
			continue;
		}
		return s;
	}
}

void enr_backend_run(const enr_backend *b, llm_http *h, const triage_incident *in,
		     const char *model, int64_t deadline_ms, enr_outcome *out)
{
	int64_t t0 = tr_mono_ms();
	memset(out, 0, sizeof *out);
	if (!model || !*model)
		model = b->cfg->model;

	if (b->kind == ENR_BACKEND_RULES) {
		rules_triage(in, &out->triage);
		out->outcome = PROTO_OUTCOME_TRIAGED;
		goto done;
	}
	if (b->kind == ENR_BACKEND_MODEL) {
		const learn_model *m = b->models ? enr_model_acquire(b->models, in->learned_version) : NULL;
		if (m)
			enr_model_triage(m, in, &out->triage);
		else
			rules_triage(in, &out->triage); /* no model trained or reachable yet */
		if (m)
			enr_model_release(b->models, m);
		out->outcome = PROTO_OUTCOME_TRIAGED;
		goto done;
	}

	llm_status s = run_llm(b, h, in, model, deadline_ms, out);
	switch (s) {
	case LLM_OK:
		out->outcome = PROTO_OUTCOME_TRIAGED;
		goto done;
	case LLM_ABORTED:
		out->outcome = PROTO_OUTCOME_RELEASED;
		break;
	case LLM_BUSY:
		out->outcome = PROTO_OUTCOME_RETRY;
		break;
	default:
		out->outcome = PROTO_OUTCOME_FAILED;
		break;
	}
	snprintf(out->reason, sizeof out->reason, "%s", llm_status_reason(s));
	if (out->outcome != PROTO_OUTCOME_RELEASED && strcmp(b->cfg->fallback, "rules") == 0) {
		tr_iwarn(in->id, "%s %s (%s): falling back to the rules backend",
			 enr_backend_name(b->kind), out->reason, out->detail);
		rules_triage(in, &out->triage);
		out->outcome = PROTO_OUTCOME_TRIAGED;
		out->fell_back = true;
	}
done:
	out->triage.latency_ms = tr_mono_ms() - t0;
	if (out->outcome == PROTO_OUTCOME_TRIAGED) {
		char why[160];
		if (!triage_validate(&out->triage, why, sizeof why)) {
			/* Only the rules engine can get here (llm_call validated already). */
			tr_ierror(in->id, "backend produced an invalid triage: %s", why);
			out->outcome = PROTO_OUTCOME_FAILED;
			out->fell_back = false;
			snprintf(out->reason, sizeof out->reason, "internal_error");
			snprintf(out->detail, sizeof out->detail, "invalid triage: %s", why);
		}
	}
}
