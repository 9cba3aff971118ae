/* nt_config: the notifier's TRIAGE_* table, its checks beyond the table, and the
 * default notifier id (hostname-pid). */
#include "nt_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tr_err.h"

#define O(f) offsetof(nt_config, f)

const tr_cfg_item nt_config_items[] = {
	{"TRIAGE_DATABASE_URL", TR_CFG_STR, "", O(database_url), 0, 0, NULL,
	 "PostgreSQL connection (libpq URL or conninfo); required"},
	{"TRIAGE_NOTIFIER_WORKERS", TR_CFG_INT, "4", O(workers), 1, 64, NULL,
	 "deliveries in flight (threads, each with its own database connection)"},
	{"TRIAGE_NOTIFY_POLL_MS", TR_CFG_INT, "200", O(poll_ms), 10, 60000, NULL,
	 "how often an idle worker looks for due notifications"},
	{"TRIAGE_NOTIFY_TIMEOUT_MS", TR_CFG_INT, "10000", O(timeout_ms), 100, 600000, NULL,
	 "one delivery, connection to last byte (then it is retried)"},
	{"TRIAGE_NOTIFY_CONNECT_TIMEOUT_MS", TR_CFG_INT, "3000", O(connect_timeout_ms), 50, 600000,
	 NULL, "connecting to a receiver"},
	{"TRIAGE_NOTIFY_LEASE_MS", TR_CFG_INT, "60000", O(lease_ms), 200, 86400000, NULL,
	 "a claimed notification whose notifier died is delivered again after this (> timeout)"},
	{"TRIAGE_NOTIFY_MAX_ATTEMPTS", TR_CFG_INT, "8", O(max_attempts), 1, 100, NULL,
	 "delivery attempts before giving up (the reason goes on the incident's timeline)"},
	{"TRIAGE_NOTIFY_BACKOFF_MS", TR_CFG_INT, "1000", O(backoff_ms), 1, 3600000, NULL,
	 "delay before the first retry; doubled per attempt"},
	{"TRIAGE_NOTIFY_BACKOFF_MAX_MS", TR_CFG_INT, "300000", O(backoff_max_ms), 1, 86400000, NULL,
	 "cap of the retry delay"},
	{"TRIAGE_NOTIFY_RETRY_AFTER_MAX_MS", TR_CFG_INT, "3600000", O(retry_after_max_ms), 0,
	 86400000, NULL, "longest Retry-After of a receiver that is honoured (longer ones are cut)"},
	{"TRIAGE_NOTIFY_RETAIN_DAYS", TR_CFG_INT, "7", O(retain_days), 1, 3650, NULL,
	 "finished notifications (sent, failed, cancelled) are deleted after this many days"},
	{"TRIAGE_DB_TIMEOUT_MS", TR_CFG_INT, "5000", O(db_timeout_ms), 100, 600000, NULL,
	 "longest wait for one database statement or connection"},
	{"TRIAGE_DASHBOARD_URL", TR_CFG_STR, "", O(dashboard_url), 0, 0, NULL,
	 "the dashboard's address, for links in messages (empty: no links)"},
	{"TRIAGE_NOTIFIER_ID", TR_CFG_STR, "", O(notifier_id), 0, 0, NULL,
	 "names this notifier in logs, claims and timelines (empty: host-pid)"},
	{"TRIAGE_LOG_LEVEL", TR_CFG_ENUM, "info", O(log_level), 0, 0, "debug|info|warn|error",
	 "log threshold"},
	{"TRIAGE_LOG_FORMAT", TR_CFG_ENUM, "text", O(log_format), 0, 0, "text|json",
	 "log lines as text, or one JSON object per line (time, level, service, incident, msg)"},
};
const size_t nt_config_nitems = sizeof nt_config_items / sizeof nt_config_items[0];

int nt_config_load(nt_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	int rc = tr_config_load(nt_config_items, nt_config_nitems, cfg, err, errlen);
	if (rc != TR_OK)
		return rc;
	rc = TR_ERR_INVALID;
	if (!*cfg->database_url) {
		snprintf(err, errlen, "TRIAGE_DATABASE_URL: required");
		goto fail;
	}
	if (cfg->lease_ms <= cfg->timeout_ms) {
		snprintf(err, errlen, "TRIAGE_NOTIFY_LEASE_MS: must be longer than "
				      "TRIAGE_NOTIFY_TIMEOUT_MS (%ld)", cfg->timeout_ms);
		goto fail;
	}
	if (*cfg->dashboard_url && strncmp(cfg->dashboard_url, "http://", 7) != 0 &&
	    strncmp(cfg->dashboard_url, "https://", 8) != 0) {
		snprintf(err, errlen, "TRIAGE_DASHBOARD_URL: '%s' is not an http:// or https:// URL",
			 cfg->dashboard_url);
		goto fail;
	}
	if (strlen(cfg->notifier_id) > 100) {
		snprintf(err, errlen, "TRIAGE_NOTIFIER_ID: longer than 100 bytes");
		goto fail;
	}
	rc = tr_config_default_id(&cfg->notifier_id, '-');
	if (rc != TR_OK) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return TR_OK;
fail:
	nt_config_free(cfg);
	return rc;
}

void nt_config_free(nt_config *cfg)
{
	tr_config_free(nt_config_items, nt_config_nitems, cfg);
}
