/* nt_config: the notifier's configuration, one tr_cfg_item table of TRIAGE_* variables,
 * parsed once at start and printed by --help. */
#ifndef NT_CONFIG_H
#define NT_CONFIG_H

#include <stddef.h>

#include "tr_config.h"

typedef struct {
	char *database_url;
	long workers;            /* delivery threads, each with its own PGconn and CURL */
	long poll_ms;            /* how often an idle worker looks for due rows */
	long timeout_ms;         /* one delivery, connection to last byte */
	long connect_timeout_ms;
	long lease_ms;           /* a claimed row is re-claimable after this */
	long max_attempts;
	long backoff_ms;         /* first retry delay; doubles per attempt */
	long backoff_max_ms;
	long retry_after_max_ms; /* a receiver's Retry-After is honoured up to this */
	long retain_days;        /* finished rows are deleted after this */
	long db_timeout_ms;
	char *dashboard_url;     /* links in messages; "" = none */
	char *notifier_id;       /* "" -> hostname-pid (filled by nt_config_load) */
	char *log_level;
	char *log_format;        /* text|json */
} nt_config;

extern const tr_cfg_item nt_config_items[];
extern const size_t nt_config_nitems;

/* Loads the table and checks what it cannot (a database URL, lease longer than a
 * delivery, the dashboard URL). On failure returns a tr_err with err naming the
 * variable and nothing allocated. On success free with nt_config_free(). */
int nt_config_load(nt_config *cfg, char *err, size_t errlen);
void nt_config_free(nt_config *cfg);

#endif
