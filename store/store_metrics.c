/* store_metrics: counters kept in memory since the process started, and the METRICS
 * query that adds the database's and the enrichers' figures to them.
 *
 * DESIGN (threads): no thread of its own. The results thread and the ingest writers
 * add to the counters (atomics; the per-backend table under a mutex, at most
 * STORE_METRICS_SERIES series, the rest counted under model="other"); a reader thread
 * renders them. */
#include "store_metrics.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_err.h"
#include "tr_prom.h"
#include "tr_time.h"

#define STORE_METRICS_SERIES 64
#define STORE_METRICS_TEXT_MAX (512 * 1024)
#define STORE_METRICS_OUTCOMES 5 /* proto_outcome 1..4, and 0 for anything else */

typedef struct {
	char backend[PROTO_SHORT_MAX + 1];
	char model[PROTO_SHORT_MAX + 1];
	unsigned long calls[STORE_METRICS_OUTCOMES];
	tr_prom_histogram latency;
} store_metrics_series;

static struct {
	pthread_mutex_t mu; /* guards nseries and the names; counts are atomics or under mu */
	store_metrics_series series[STORE_METRICS_SERIES];
	size_t nseries;
	atomic_ulong ignored;
	/* batch sizes: 1, 2-4, 5-16, 17-64, 65-256, 257+ */
	atomic_ulong batch[6];
	atomic_ulong batch_sum;
	atomic_ulong submit_batches, submit_batch_submits;
} store_metrics_registry = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const unsigned long store_metrics_batch_bounds[5] = {1, 4, 16, 64, 256};
static const char *const store_metrics_outcomes[STORE_METRICS_OUTCOMES] = {
	"other", "triaged", "failed", "retry", "released"};

void store_metrics_result(const proto_result *r)
{
	const char *backend = r->backend && *r->backend ? r->backend : "none";
	const char *model = r->model && *r->model ? r->model : "none";
	int outcome = r->outcome >= 1 && r->outcome < STORE_METRICS_OUTCOMES ? r->outcome : 0;
	store_metrics_series *s = NULL;

	pthread_mutex_lock(&store_metrics_registry.mu);
	for (size_t i = 0; i < store_metrics_registry.nseries && !s; i++) {
		store_metrics_series *c = &store_metrics_registry.series[i];
		if (strcmp(c->backend, backend) == 0 && strcmp(c->model, model) == 0)
			s = c;
	}
	if (!s) {
		size_t n = store_metrics_registry.nseries;
		if (n == STORE_METRICS_SERIES) {
			s = &store_metrics_registry.series[n - 1]; /* the overflow series */
		} else {
			s = &store_metrics_registry.series[n];
			bool last = n == STORE_METRICS_SERIES - 1;
			snprintf(s->backend, sizeof s->backend, "%s", last ? "other" : backend);
			snprintf(s->model, sizeof s->model, "%s", last ? "other" : model);
			store_metrics_registry.nseries = n + 1;
		}
	}
	s->calls[outcome]++;
	if (r->outcome == PROTO_OUTCOME_TRIAGED || r->outcome == PROTO_OUTCOME_FAILED)
		tr_prom_observe_us(&s->latency, r->latency_ms * 1000);
	pthread_mutex_unlock(&store_metrics_registry.mu);
}

void store_metrics_result_ignored(void)
{
	atomic_fetch_add(&store_metrics_registry.ignored, 1);
}

void store_metrics_ingest_batch(size_t n)
{
	size_t i = 0;
	while (i < 5 && n > store_metrics_batch_bounds[i])
		i++;
	atomic_fetch_add(&store_metrics_registry.batch[i], 1);
	atomic_fetch_add(&store_metrics_registry.batch_sum, n);
}

void store_metrics_submit_batch(size_t n)
{
	atomic_fetch_add(&store_metrics_registry.submit_batches, 1);
	atomic_fetch_add(&store_metrics_registry.submit_batch_submits, n);
}

static void store_metrics_write_counters(tr_buf *b)
{
	tr_prom_header(b, "triage_llm_calls_total", "counter",
		       "results applied, by backend, model and outcome (since this store started)");
	pthread_mutex_lock(&store_metrics_registry.mu);
	for (size_t i = 0; i < store_metrics_registry.nseries; i++) {
		const store_metrics_series *s = &store_metrics_registry.series[i];
		for (int o = 0; o < STORE_METRICS_OUTCOMES; o++) {
			if (o == 0 && s->calls[0] == 0)
				continue;
			tr_buf_addf(b, "triage_llm_calls_total{backend=\"");
			tr_prom_label_value(b, s->backend);
			tr_buf_addf(b, "\",model=\"");
			tr_prom_label_value(b, s->model);
			tr_buf_addf(b, "\",outcome=\"%s\"} %lu\n", store_metrics_outcomes[o],
				       s->calls[o]);
		}
	}
	tr_prom_header(b, "triage_llm_latency_seconds", "histogram",
		       "time of the backend call behind each triaged or failed result");
	for (size_t i = 0; i < store_metrics_registry.nseries; i++) {
		const store_metrics_series *s = &store_metrics_registry.series[i];
		tr_buf labels;
		tr_buf_init(&labels, 4096);
		tr_buf_addf(&labels, "backend=\"");
		tr_prom_label_value(&labels, s->backend);
		tr_buf_addf(&labels, "\",model=\"");
		tr_prom_label_value(&labels, s->model);
		tr_buf_addf(&labels, "\"");
		char *l = tr_buf_take(&labels);
		if (l)
			tr_prom_histogram_write(b, "triage_llm_latency_seconds", l, &s->latency);
		free(l);
	}
	pthread_mutex_unlock(&store_metrics_registry.mu);

	tr_prom_counter(b, "triage_results_ignored_total",
			"results that matched no attempt in flight (late, duplicate, stale)",
			atomic_load(&store_metrics_registry.ignored));

	tr_prom_header(b, "triage_ingest_batch_size", "histogram",
		       "submits committed per group-commit transaction");
	unsigned long cumulative = 0;
	for (int i = 0; i < 6; i++) {
		cumulative += atomic_load(&store_metrics_registry.batch[i]);
		if (i < 5)
			tr_buf_addf(b, "triage_ingest_batch_size_bucket{le=\"%lu\"} %lu\n",
				       store_metrics_batch_bounds[i], cumulative);
		else
			tr_buf_addf(b, "triage_ingest_batch_size_bucket{le=\"+Inf\"} %lu\n",
				       cumulative);
	}
	tr_buf_addf(b, "triage_ingest_batch_size_sum %lu\ntriage_ingest_batch_size_count %lu\n",
		       atomic_load(&store_metrics_registry.batch_sum), cumulative);
	tr_prom_counter(b, "triage_submit_batches_total",
			"SUBMIT_BATCH requests from gateways (submits that waited together)",
			atomic_load(&store_metrics_registry.submit_batches));
	tr_prom_counter(b, "triage_submit_batch_submits_total",
			"submits that arrived in those requests",
			atomic_load(&store_metrics_registry.submit_batch_submits));
}

/* The incidents by status, effective severity, effective category and state (NULL
 * severity/category while untriaged: "none"), as counted with the writes (sql/014). */
static const char store_metrics_sql[] =
	"SELECT dim, value, n FROM incident_count_totals ORDER BY 1, 2";

static int store_metrics_write_db(store_reader *r, tr_buf *b)
{
	PGresult *res = NULL;
	int rc = store_db_exec(r->db, store_metrics_sql, 0, NULL, &res);
	if (rc != TR_OK)
		return rc;
	static const struct {
		const char *dim, *name, *help;
	} families[] = {
		{"status", "triage_incidents_by_status", "incidents stored, by triage status"},
		{"severity", "triage_incidents_by_severity",
		 "incidents stored, by effective severity (override, else AI; none if untriaged)"},
		{"category", "triage_incidents_by_category",
		 "incidents stored, by effective category"},
		{"state", "triage_incidents_by_state", "incidents stored, by responder state"},
	};
	long submitted = 0, processing = 0;
	for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
		tr_prom_header(b, families[f].name, "gauge", families[f].help);
		for (int i = 0; i < PQntuples(res); i++) {
			if (strcmp(PQgetvalue(res, i, 0), families[f].dim) != 0)
				continue;
			const char *value = PQgetvalue(res, i, 1);
			tr_buf_addf(b, "%s{%s=\"", families[f].name, families[f].dim);
			tr_prom_label_value(b, value);
			tr_buf_addf(b, "\"} %s\n", PQgetvalue(res, i, 2));
			if (f == 0 && strcmp(value, "submitted") == 0)
				submitted = atol(PQgetvalue(res, i, 2));
			if (f == 0 && strcmp(value, "processing") == 0)
				processing = atol(PQgetvalue(res, i, 2));
		}
	}
	PQclear(res);
	tr_prom_header(b, "triage_queue_depth", "gauge",
		       "incidents waiting for an enricher (submitted) or held by one (processing)");
	tr_buf_addf(b, "triage_queue_depth{queue=\"submitted\"} %ld\n", submitted);
	tr_buf_addf(b, "triage_queue_depth{queue=\"processing\"} %ld\n", processing);
	return TR_OK;
}

int store_metrics_run(store_reader *r, store_call *call)
{
	tr_buf b;
	char backends[2048];
	long active = 0, slots = 0, busy = 0;

	if (call->req.u.query.nparams > 0)
		return store_call_fail(call, TR_ERR_INVALID, "metrics take no parameters");
	tr_buf_init(&b, STORE_METRICS_TEXT_MAX);
	int rc = store_metrics_write_db(r, &b);
	if (rc == TR_OK)
		rc = store_outbox_metrics(r, &b);
	if (rc != TR_OK) {
		free(tr_buf_take(&b));
		return store_query_db_fail(r, call, rc);
	}
	if (r->enrichers)
		store_enrichers_snapshot(r->enrichers, tr_mono_ms(), &active, &slots, &busy,
					 backends, sizeof backends);
	tr_prom_header(&b, "triage_enrichers_active", "gauge",
		       "enrichers heard from within TRIAGE_ENRICHER_EXPIRE_MS");
	tr_buf_addf(&b, "triage_enrichers_active %ld\n", active);
	tr_prom_header(&b, "triage_enricher_slots", "gauge", "calls the active enrichers can hold");
	tr_buf_addf(&b, "triage_enricher_slots %ld\n", slots);
	tr_prom_header(&b, "triage_enricher_busy", "gauge", "calls the active enrichers hold now");
	tr_buf_addf(&b, "triage_enricher_busy %ld\n", busy);
	store_metrics_write_counters(&b);
	tr_prom_header(&b, "triage_store_info", "gauge", "the store that answered this scrape");
	tr_buf_addf(&b, "triage_store_info{store=\"");
	tr_prom_label_value(&b, r->cfg->store_id);
	tr_buf_addf(&b, "\"} 1\n");

	char *text = tr_buf_take(&b);
	if (!text)
		return store_call_fail(call, TR_ERR_TOO_LARGE, "the metrics text is too large");
	json_t *o = json_pack("{s:s}", "text", text);
	free(text);
	char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return store_call_ok(call, json);
}
