/* store_config: the store's configuration, one table of TRIAGE_* environment variables
 * parsed once at start (see store_config.c for every default and its meaning). */
#ifndef STORE_CONFIG_H
#define STORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tr_config.h"

typedef struct {
	char *database_url; /* libpq conninfo or URL; required */
	char *sql_dir;      /* migrations */
	char *store_url;    /* REP */
	char *events_url;   /* PUB */
	char *jobs_url;     /* PUSH */
	char *results_url;  /* PULL */
	char *default_model;
	char *log_level;
	char *log_format;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *store_id;     /* names this process in logs and store_heartbeats; "" = host:pid */
	bool group_commit;
	long batch_max;
	long ingest_writers;
	long readers;
	long rep_contexts;
	long stale_submitted_ms;
	long lease_ms;
	long max_attempts;
	long retry_backoff_ms;
	long retry_backoff_max_ms;
	long sweep_interval_ms;
	long enricher_expire_ms;
	long db_timeout_ms;
	long retry_window_ms;
	char *corpus_dir;          /* the labelled corpus the built-in model starts from */
	long train_interval_ms;    /* how often the trainer looks for new labels */
	long train_history_max;    /* most labelled incidents one training reads */
	long train_history_weight; /* how many corpus examples one responder label is worth */
	long review_threshold_pct; /* below this confidence the dashboard says 'needs review' */
	long retention_days;        /* 0: keep everything */
	long retention_batch;
	long retention_interval_ms;
	bool retention_archive;
} store_config;

extern const tr_cfg_item store_cfg_items[];
extern const size_t store_cfg_nitems;

/* Loads and validates the configuration from the environment. On failure err names the
 * variable and nothing is allocated. On success free with store_config_free(). */
int store_config_load(store_config *cfg, char *err, size_t errlen);
void store_config_free(store_config *cfg);

#endif
