/* enr_config: the enricher's TRIAGE_* table, its checks beyond the table, and the
 * default enricher id (hostname-pid). */
#include "enr_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enr_links.h"
#include "proto.h"
#include "tr_err.h"
#include "tr_log.h"

#define O(f) offsetof(enr_config, f)

const tr_cfg_item enr_config_items[] = {
	{"TRIAGE_LLM_BACKEND", TR_CFG_ENUM, "auto", O(backend), 0, 0, "auto|ollama|openai|model|rules",
	 "triage backend; auto = ollama if TRIAGE_OLLAMA_URL answers /api/version at start, else "
	 "model (the built-in trained model; rules until the store has trained one); rules = "
	 "the old keyword tables"},
	{"TRIAGE_OLLAMA_URL", TR_CFG_STR, "http://127.0.0.1:11434", O(ollama_url), 0, 0, NULL,
	 "Ollama base URL"},
	{"TRIAGE_OPENAI_URL", TR_CFG_STR, "http://127.0.0.1:8080", O(openai_url), 0, 0, NULL,
	 "OpenAI-compatible server base URL (/v1/chat/completions is appended)"},
	{"TRIAGE_OPENAI_KEY", TR_CFG_STR, "", O(openai_key), 0, 0, NULL,
	 "bearer key for the OpenAI-compatible server (optional; never logged)"},
	{"TRIAGE_MODEL", TR_CFG_STR, "phi3:mini", O(model), 0, 0, NULL,
	 "model used when a job names none (the store sends the model set through the API)"},
	{"TRIAGE_LLM_TIMEOUT_MS", TR_CFG_INT, "60000", O(timeout_ms), 100, 3600000, NULL,
	 "one LLM call, connection to last byte"},
	{"TRIAGE_LLM_CONNECT_TIMEOUT_MS", TR_CFG_INT, "3000", O(connect_timeout_ms), 50, 600000, NULL,
	 "connecting to the LLM server"},
	{"TRIAGE_LLM_PROBE_TIMEOUT_MS", TR_CFG_INT, "2000", O(probe_timeout_ms), 50, 60000, NULL,
	 "backend auto: how long the start-up probe of Ollama may take"},
	{"TRIAGE_LLM_FALLBACK", TR_CFG_ENUM, "fail", O(fallback), 0, 0, "fail|rules",
	 "when the LLM fails: fail (the incident fails with the reason) or rules (triage by rules)"},
	{"TRIAGE_ENRICHER_SLOTS", TR_CFG_INT, "4", O(slots), 1, 256, NULL,
	 "calls in flight (worker threads)"},
	{"TRIAGE_ENRICHER_ID", TR_CFG_STR, "", O(enricher_id), 0, 0, NULL,
	 "this enricher's name in results and heartbeats (default hostname-pid)"},
	{"TRIAGE_NUM_CTX", TR_CFG_INT, "4096", O(num_ctx), 256, 1048576, NULL,
	 "ollama options.num_ctx (context window)"},
	{"TRIAGE_NUM_PREDICT", TR_CFG_INT, "512", O(num_predict), 16, 65536, NULL,
	 "most tokens the model may produce (ollama num_predict, openai max_tokens)"},
	{"TRIAGE_KEEP_ALIVE", TR_CFG_STR, "5m", O(keep_alive), 0, 0, NULL,
	 "ollama keep_alive: how long the model stays loaded (\"5m\", \"-1\"; empty: server default)"},
	{"TRIAGE_BUSY_RETRIES", TR_CFG_INT, "3", O(busy_retries), 0, 20, NULL,
	 "local retries when the server is busy (503/429) before handing the job back"},
	{"TRIAGE_BUSY_BACKOFF_MS", TR_CFG_INT, "250", O(busy_backoff_ms), 1, 60000, NULL,
	 "first busy backoff; doubles per retry up to 8x"},
	{"TRIAGE_JOBS_URL", TR_CFG_STR, PROTO_DEFAULT_JOBS_URL, O(jobs_url), 0, 0, NULL,
	 "store's job socket (PULL side dials it); several stores: a comma-separated list, "
	 "element i being the same store as element i of TRIAGE_RESULTS_URL"},
	{"TRIAGE_RESULTS_URL", TR_CFG_STR, PROTO_DEFAULT_RESULTS_URL, O(results_url), 0, 0, NULL,
	 "store's result socket (PUSH side dials it); several stores: a comma-separated list "
	 "as long as TRIAGE_JOBS_URL (one socket per store)"},
	{"TRIAGE_HEARTBEAT_MS", TR_CFG_INT, "1000", O(heartbeat_ms), 50, 60000, NULL,
	 "interval of heartbeats (free slots) to the store"},
	{"TRIAGE_SHUTDOWN_GRACE_MS", TR_CFG_INT, "10000", O(grace_ms), 0, 600000, NULL,
	 "on SIGTERM, how long calls in flight may finish before they are abandoned and released"},
	{"TRIAGE_STORE_URL", TR_CFG_STR, PROTO_DEFAULT_STORE_URL, O(store_url), 0, 0, NULL,
	 "the store's REP socket, where backend model fetches new versions of the built-in model"},
	{"TRIAGE_MODEL_FETCH_TIMEOUT_MS", TR_CFG_INT, "5000", O(model_fetch_timeout_ms), 100, 600000,
	 NULL, "longest wait for one part of a built-in model version from the store"},
	{"TRIAGE_LOG_LEVEL", TR_CFG_ENUM, "info", O(log_level), 0, 0, "debug|info|warn|error",
	 "log threshold"},
	{"TRIAGE_LOG_FORMAT", TR_CFG_ENUM, "text", O(log_format), 0, 0, "text|json",
	 "log lines as text, or one JSON object per line (time, level, service, incident, msg)"},
	{"TRIAGE_TLS_CA", TR_CFG_STR, "", O(tls_ca), 0, 0, NULL,
	 "PEM file of the private CA that signs every service's certificate (tls+tcp:// addresses)"},
	{"TRIAGE_TLS_CERT", TR_CFG_STR, "", O(tls_cert), 0, 0, NULL,
	 "PEM file of this process's certificate, signed by TRIAGE_TLS_CA"},
	{"TRIAGE_TLS_KEY", TR_CFG_STR, "", O(tls_key), 0, 0, NULL,
	 "PEM file of this process's private key"},
	{"TRIAGE_TLS_SERVER_NAME", TR_CFG_STR, "triage-store", O(tls_server_name), 0, 0, NULL,
	 "the name the store's certificate must carry (checked when dialing tls+tcp://)"},
};
const size_t enr_config_nitems = sizeof enr_config_items / sizeof enr_config_items[0];

static bool http_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

int enr_config_load(enr_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	int rc = tr_config_load(enr_config_items, enr_config_nitems, cfg, err, errlen);
	if (rc != TR_OK)
		return rc;
	rc = TR_ERR_INVALID;
	if (!http_url(cfg->ollama_url)) {
		snprintf(err, errlen, "TRIAGE_OLLAMA_URL: '%s' is not an http:// or https:// URL",
			 cfg->ollama_url);
		goto fail;
	}
	if (!http_url(cfg->openai_url)) {
		snprintf(err, errlen, "TRIAGE_OPENAI_URL: '%s' is not an http:// or https:// URL",
			 cfg->openai_url);
		goto fail;
	}
	if (strlen(cfg->model) == 0 || strlen(cfg->model) > PROTO_SHORT_MAX) {
		snprintf(err, errlen, "TRIAGE_MODEL: must be 1..%d bytes", PROTO_SHORT_MAX);
		goto fail;
	}
	if (strlen(cfg->enricher_id) > PROTO_SHORT_MAX) {
		snprintf(err, errlen, "TRIAGE_ENRICHER_ID: longer than %d bytes", PROTO_SHORT_MAX);
		goto fail;
	}
	if (enr_links_check(cfg->jobs_url, cfg->results_url, err, errlen) != TR_OK)
		goto fail;
	rc = tr_config_default_id(&cfg->enricher_id, '-');
	if (rc != TR_OK) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return TR_OK;
fail:
	enr_config_free(cfg);
	return rc;
}

void enr_config_free(enr_config *cfg)
{
	tr_config_free(enr_config_items, enr_config_nitems, cfg);
}
