/* enr_config: the enricher's configuration, one tr_cfg_item table of TRIAGE_* variables,
 * parsed once at start and printed by --help. */
#ifndef ENR_CONFIG_H
#define ENR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tr_config.h"

typedef struct {
	char *backend;          /* auto|ollama|openai|model|rules */
	char *ollama_url;
	char *openai_url;
	char *openai_key;       /* secret: never logged */
	char *model;            /* when a job carries none */
	long timeout_ms;        /* one LLM call */
	long connect_timeout_ms;
	long probe_timeout_ms;  /* backend "auto": GET /api/version at start */
	char *fallback;         /* fail|rules */
	long slots;             /* calls in flight */
	char *enricher_id;      /* "" -> hostname-pid (filled by enr_config_load) */
	long num_ctx;
	long num_predict;
	char *keep_alive;
	long busy_retries;      /* local retries of a 503/429 before reporting RETRY */
	long busy_backoff_ms;   /* first backoff; doubles per retry, capped at 8x */
	char *jobs_url;
	char *results_url;
	long heartbeat_ms;
	long grace_ms;          /* SIGTERM: how long in-flight calls may still run */
	char *log_level;
	char *store_url;        /* the store's REP socket: built-in model versions */
	long model_fetch_timeout_ms;
	char *log_format;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *tls_server_name;
} enr_config;

extern const tr_cfg_item enr_config_items[];
extern const size_t enr_config_nitems;

/* Loads the table from the environment and checks what the table cannot (log level,
 * URLs). On failure returns a tr_err, err names the variable, nothing stays allocated.
 * On success free with enr_config_free(). */
int enr_config_load(enr_config *cfg, char *err, size_t errlen);
void enr_config_free(enr_config *cfg);

#endif
