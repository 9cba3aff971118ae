/* store_config: the table of the store's settings: variable, type, default, meaning.
 * Parsed by tr_config; printed by `triage-store --help`. */
#include "store_config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "tr_err.h"
#include "tr_log.h"

#ifndef STORE_DEFAULT_SQL_DIR
#define STORE_DEFAULT_SQL_DIR "sql"
#endif

#ifndef STORE_DEFAULT_CORPUS_DIR
#define STORE_DEFAULT_CORPUS_DIR "data/corpus/train"
#endif

#define S(field) offsetof(store_config, field)

const tr_cfg_item store_cfg_items[] = {
	{"TRIAGE_DATABASE_URL", TR_CFG_STR, "", S(database_url), 0, 0, NULL,
	 "PostgreSQL connection (libpq URL or conninfo); required"},
	{"TRIAGE_SQL_DIR", TR_CFG_STR, STORE_DEFAULT_SQL_DIR, S(sql_dir), 0, 0, NULL,
	 "folder of NNN_*.sql migrations, applied in order at start, each once"},
	{"TRIAGE_STORE_URL", TR_CFG_STR, PROTO_DEFAULT_STORE_URL, S(store_url), 0, 0, NULL,
	 "REP socket the gateways send submits and queries to"},
	{"TRIAGE_EVENTS_URL", TR_CFG_STR, PROTO_DEFAULT_EVENTS_URL, S(events_url), 0, 0, NULL,
	 "PUB socket for incident change events"},
	{"TRIAGE_JOBS_URL", TR_CFG_STR, PROTO_DEFAULT_JOBS_URL, S(jobs_url), 0, 0, NULL,
	 "PUSH socket for triage jobs to enrichers"},
	{"TRIAGE_RESULTS_URL", TR_CFG_STR, PROTO_DEFAULT_RESULTS_URL, S(results_url), 0, 0, NULL,
	 "PULL socket for results and heartbeats from enrichers"},
	{"TRIAGE_GROUP_COMMIT", TR_CFG_BOOL, "true", S(group_commit), 0, 0, NULL,
	 "commit the submits waiting at that moment in one transaction (false: one each)"},
	{"TRIAGE_BATCH_MAX", TR_CFG_INT, "512", S(batch_max), 1, 4096, NULL,
	 "most submits committed in one transaction"},
	{"TRIAGE_INGEST_WRITERS", TR_CFG_INT, "2", S(ingest_writers), 1, 32, NULL,
	 "writer threads (database connections) committing submits"},
	{"TRIAGE_READERS", TR_CFG_INT, "2", S(readers), 1, 32, NULL,
	 "reader threads (database connections) answering queries and actions"},
	{"TRIAGE_REP_CONTEXTS", TR_CFG_INT, "256", S(rep_contexts), 1, 4096, NULL,
	 "gateway requests the store holds in flight at once"},
	{"TRIAGE_STALE_SUBMITTED_MS", TR_CFG_INT, "30000", S(stale_submitted_ms), 100, 86400000,
	 NULL, "a row submitted (or due) longer than this is reported by the sweeper"},
	{"TRIAGE_LEASE_MS", TR_CFG_INT, "180000", S(lease_ms), 100, 86400000, NULL,
	 "how long an enricher may hold a job before it is re-dispatched"},
	{"TRIAGE_MAX_ATTEMPTS", TR_CFG_INT, "5", S(max_attempts), 1, 100, NULL,
	 "dispatch attempts per triage before it fails with attempts_exhausted"},
	{"TRIAGE_RETRY_BACKOFF_MS", TR_CFG_INT, "1000", S(retry_backoff_ms), 0, 3600000, NULL,
	 "backoff before a retry: this, doubled per attempt"},
	{"TRIAGE_RETRY_BACKOFF_MAX_MS", TR_CFG_INT, "60000", S(retry_backoff_max_ms), 0, 86400000,
	 NULL, "cap of the retry backoff"},
	{"TRIAGE_SWEEP_INTERVAL_MS", TR_CFG_INT, "1000", S(sweep_interval_ms), 10, 3600000, NULL,
	 "how often expired leases and waiting rows are looked for"},
	{"TRIAGE_ENRICHER_EXPIRE_MS", TR_CFG_INT, "5000", S(enricher_expire_ms), 100, 3600000,
	 NULL, "an enricher silent this long is gone: no more jobs, and the jobs it held are "
	 "dispatched again at once (also a job's pickup window)"},
	{"TRIAGE_DEFAULT_MODEL", TR_CFG_STR, "phi3:mini", S(default_model), 0, 0, NULL,
	 "model sent with jobs until one is set through PUT /settings"},
	{"TRIAGE_DB_TIMEOUT_MS", TR_CFG_INT, "2500", S(db_timeout_ms), 100, 600000, NULL,
	 "longest wait for one statement or connection, then 503; keep it below the "
	 "gateway's TRIAGE_STORE_TIMEOUT_MS so a 503 means nothing was stored"},
	{"TRIAGE_RETRY_WINDOW_MS", TR_CFG_INT, "600000", S(retry_window_ms), 0, 86400000, NULL,
	 "a submit without Idempotency-Key whose 2xx the gateway never confirmed is matched "
	 "by a retry of the same body for this long (0: never)"},
	{"TRIAGE_RETENTION_DAYS", TR_CFG_INT, "0", S(retention_days), 0, 36500, NULL,
	 "delete resolved incidents this many days after they were resolved (0: keep all)"},
	{"TRIAGE_RETENTION_ARCHIVE", TR_CFG_BOOL, "false", S(retention_archive), 0, 0, NULL,
	 "copy each incident (with its timeline, as JSON) to incidents_archive before deleting it"},
	{"TRIAGE_RETENTION_BATCH", TR_CFG_INT, "500", S(retention_batch), 1, 100000, NULL,
	 "incidents deleted per transaction by the retention sweep"},
	{"TRIAGE_RETENTION_INTERVAL_MS", TR_CFG_INT, "600000", S(retention_interval_ms), 1000,
	 86400000, NULL, "how often the retention sweep runs"},
	{"TRIAGE_STORE_ID", TR_CFG_STR, "", S(store_id), 0, 0, NULL,
	 "names this store in logs and readiness rows (empty: host:pid)"},
	{"TRIAGE_LOG_LEVEL", TR_CFG_ENUM, "info", S(log_level), 0, 0, "debug|info|warn|error",
	 "log threshold"},
	{"TRIAGE_CORPUS_DIR", TR_CFG_STR, STORE_DEFAULT_CORPUS_DIR, S(corpus_dir), 0, 0, NULL,
	 "labelled incidents (*.jsonl) the built-in model is trained on, with the history "
	 "(empty: responder labels only)"},
	{"TRIAGE_TRAIN_INTERVAL_MS", TR_CFG_INT, "60000", S(train_interval_ms), 100, 86400000,
	 NULL, "how often the trainer looks for new responder labels and retrains if any"},
	{"TRIAGE_TRAIN_HISTORY_MAX", TR_CFG_INT, "5000", S(train_history_max), 0, 1000000, NULL,
	 "most labelled incidents (newest first) one training reads"},
	{"TRIAGE_TRAIN_HISTORY_WEIGHT", TR_CFG_INT, "3", S(train_history_weight), 1, 100, NULL,
	 "how many corpus examples one responder-labelled incident counts as"},
	{"TRIAGE_REVIEW_THRESHOLD_PCT", TR_CFG_INT, "50", S(review_threshold_pct), 0, 100, NULL,
	 "triages with a lower confidence (in percent) are marked 'needs review'"},
	{"TRIAGE_LOG_FORMAT", TR_CFG_ENUM, "text", S(log_format), 0, 0, "text|json",
	 "log lines as text, or one JSON object per line (time, level, service, incident, msg)"},
	{"TRIAGE_TLS_CA", TR_CFG_STR, "", S(tls_ca), 0, 0, NULL,
	 "PEM file of the private CA that signs every service's certificate (tls+tcp:// addresses)"},
	{"TRIAGE_TLS_CERT", TR_CFG_STR, "", S(tls_cert), 0, 0, NULL,
	 "PEM file of this process's certificate, signed by TRIAGE_TLS_CA"},
	{"TRIAGE_TLS_KEY", TR_CFG_STR, "", S(tls_key), 0, 0, NULL,
	 "PEM file of this process's private key"},
};
const size_t store_cfg_nitems = sizeof(store_cfg_items) / sizeof(store_cfg_items[0]);

/* libpq's own parser says whether the URL or conninfo can be used at all. */
static bool store_conninfo_ok(const char *url, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &msg);
	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	/* libpq's message quotes the URL, which may hold a password: not repeated */
	snprintf(err, errlen, "TRIAGE_DATABASE_URL is not a PostgreSQL URL or conninfo that "
			      "libpq can parse");
	PQfreemem(msg);
	return false;
}

int store_config_load(store_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	int rc = tr_config_load(store_cfg_items, store_cfg_nitems, cfg, err, errlen);
	if (rc != TR_OK)
		return rc;
	if (cfg->database_url[0] == '\0') {
		snprintf(err, errlen, "TRIAGE_DATABASE_URL is empty: set it to a PostgreSQL URL, "
				      "e.g. postgresql://user@127.0.0.1:5432/triage");
		rc = TR_ERR_INVALID;
	} else if (!store_conninfo_ok(cfg->database_url, err, errlen)) {
		rc = TR_ERR_INVALID;
	} else if (cfg->retry_backoff_max_ms < cfg->retry_backoff_ms) {
		snprintf(err, errlen, "TRIAGE_RETRY_BACKOFF_MAX_MS (%ld) is below "
				      "TRIAGE_RETRY_BACKOFF_MS (%ld)",
			 cfg->retry_backoff_max_ms, cfg->retry_backoff_ms);
		rc = TR_ERR_INVALID;
	} else if (strlen(cfg->default_model) > PROTO_SHORT_MAX) {
		snprintf(err, errlen, "TRIAGE_DEFAULT_MODEL is longer than %d bytes", PROTO_SHORT_MAX);
		rc = TR_ERR_INVALID;
	}
	if (rc == TR_OK && (rc = tr_config_default_id(&cfg->store_id, ':')) != TR_OK)
		snprintf(err, errlen, "out of memory");
	if (rc != TR_OK)
		store_config_free(cfg);
	return rc;
}

void store_config_free(store_config *cfg)
{
	tr_config_free(store_cfg_items, store_cfg_nitems, cfg);
}
