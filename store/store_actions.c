/* store_actions: the responders' actions (retriage, acknowledge, resolve, override),
 * the pipeline figures (STATS) and the settings, each one statement that changes the
 * incident, bumps its version, writes its timeline event and returns its JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "store_params.h"
#include "store_query.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

/* One action: the SET list, the condition the incident must meet, the event kind and
 * its detail (SQL over the old row "o" and the parameters). */
typedef struct {
	int op;
	const char *kind;
	const char *set;
	const char *cond;
	const char *detail;
} store_action;

#define STORE_TRIAGE_CLEARED                                                               \
	"summary = NULL, severity = NULL, category = NULL, suggested_actions = NULL,"       \
	" confidence = NULL, backend = NULL, model = NULL, prompt_version = NULL,"          \
	" latency_ms = NULL, prompt_tokens = NULL, completion_tokens = NULL,"               \
	" triaged_at = NULL, finished_at = NULL, similar_used = NULL"

static const store_action store_actions[] = {
	{PROTO_OP_RETRIAGE, "retriage",
	 "status = 'submitted', attempt_base = i.attempt, next_attempt_at = now(),"
	 " lease_deadline = NULL,"
	 " failure_reason = NULL, failure_detail = NULL, " STORE_TRIAGE_CLEARED,
	 "o.status IN ('triaged', 'failed')",
	 "jsonb_build_object('previous', jsonb_build_object('status', o.status, 'severity',"
	 " o.severity, 'category', o.category, 'summary', o.summary, 'backend', o.backend,"
	 " 'model', o.model, 'failure_reason', o.failure_reason))"},
	{PROTO_OP_ACKNOWLEDGE, "acknowledged", "state = 'acknowledged', acknowledged_at = now()",
	 "o.state = 'open'", "'{}'::jsonb"},
	{PROTO_OP_RESOLVE, "resolved",
	 "state = 'resolved', resolved_at = now(),"
	 " resolution_note = coalesce($2, o.resolution_note),"
	 " triage_feedback = coalesce($3, o.triage_feedback)",
	 "o.state <> 'resolved'",
	 "jsonb_strip_nulls(jsonb_build_object('note', $2::text, 'feedback', $3::text))"},
	{PROTO_OP_FEEDBACK, "feedback", "triage_feedback = $2", "o.triaged_at IS NOT NULL",
	 "jsonb_build_object('feedback', $2::text, 'previous', o.triage_feedback,"
	 " 'severity', o.severity, 'category', o.category, 'backend', o.backend)"},
	{PROTO_OP_OVERRIDE, "override",
	 "severity_override = CASE WHEN $2::bool THEN nullif($3, '') ELSE o.severity_override END,"
	 " category_override = CASE WHEN $4::bool THEN nullif($5, '') ELSE o.category_override END",
	 "true",
	 "(CASE WHEN $2::bool THEN jsonb_build_object('severity', nullif($3, '')) ELSE '{}' END)"
	 " || (CASE WHEN $4::bool THEN jsonb_build_object('category', nullif($5, ''))"
	 " ELSE '{}' END)"},
};

static const store_action *store_action_of(int op)
{
	for (size_t i = 0; i < sizeof(store_actions) / sizeof(store_actions[0]); i++) {
		if (store_actions[i].op == op)
			return &store_actions[i];
	}
	return NULL;
}

/* Why an action did not apply: 404 or 409 with the current state. */
static int store_action_refused(store_reader *r, store_call *call, const char *id)
{
	PGresult *res = NULL;
	const char *p[] = {id};
	char detail[160];
	int rc = store_db_exec(r->db, "SELECT status, state FROM incidents WHERE id = $1", 1, p,
			       &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	}
	snprintf(detail, sizeof(detail), "the incident is %s and %s", PQgetvalue(res, 0, 0),
		 PQgetvalue(res, 0, 1));
	PQclear(res);
	return store_call_fail(call, TR_ERR_CONFLICT, detail);
}

int store_action_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	const store_action *a = store_action_of(q->op);
	char id[24], sql[2048], detail[200];
	const char *sev = NULL, *cat = NULL, *note = NULL, *feedback = NULL;
	bool set_sev = false, set_cat = false;
	PGresult *res = NULL;
	if (!a)
		return store_call_fail(call, TR_ERR_INVALID, "unknown operation");
	if (q->incident_id <= 0)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	if (q->op == PROTO_OP_OVERRIDE) {
		if (store_override_parse(q->params, q->nparams, &sev, &set_sev, &cat, &set_cat,
					 detail, sizeof(detail)) != TR_OK)
			return store_call_fail(call, TR_ERR_INVALID, detail);
	} else if (q->op == PROTO_OP_RESOLVE || q->op == PROTO_OP_FEEDBACK) {
		if (store_resolve_parse(q->params, q->nparams, q->op == PROTO_OP_FEEDBACK, &note,
					&feedback, detail, sizeof(detail)) != TR_OK)
			return store_call_fail(call, TR_ERR_INVALID, detail);
	} else if (q->nparams > 0) {
		return store_call_fail(call, TR_ERR_INVALID, "this action takes no parameters");
	}
	snprintf(id, sizeof(id), "%" PRId64, q->incident_id);
	snprintf(sql, sizeof(sql),
		 "WITH o AS (SELECT * FROM incidents WHERE id = $1 FOR UPDATE),"
		 " u AS (UPDATE incidents i SET %s, version = i.version + 1, updated_at = now()"
		 " FROM o WHERE i.id = o.id AND %s"
		 " RETURNING triage_incident_json(i) AS j, i.id, i.version, i.status, i.state,"
		 " coalesce(i.severity_override, i.severity, '') AS sev,"
		 " coalesce(i.category_override, i.category, '') AS cat, i.attempt, %s AS detail),"
		 " e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor,"
		 " detail) SELECT id, '%s', status, attempt, 'api', detail FROM u)"
		 " SELECT j, id, version, status, state, sev, cat FROM u",
		 a->set, a->cond, a->detail, a->kind);
	const char *p[] = {id, set_sev ? "t" : "f", sev ? sev : "", set_cat ? "t" : "f",
			   cat ? cat : ""};
	const char *pm[] = {id, q->op == PROTO_OP_FEEDBACK ? feedback : note, feedback};
	int np = q->op == PROTO_OP_OVERRIDE ? 5 : q->op == PROTO_OP_RESOLVE ? 3
					    : q->op == PROTO_OP_FEEDBACK ? 2 : 1;
	int rc = store_db_exec(r->db, sql, np, np == 5 ? p : pm, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_action_refused(r, call, id);
	}
	store_events_publish_row(r->events, res, 0, 1, a->kind);
	tr_iinfo(q->incident_id, "%s", a->kind);
	call->incident_id = q->incident_id;
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	if (q->op == PROTO_OP_RETRIAGE)
		store_dispatch_wake(r->dispatch);
	return rc;
}

static const char store_sql_stats[] =
	"SELECT json_build_object("
	" 'counts', (SELECT json_build_object(" /* kept with the writes (sql/014) */
	"   'submitted', coalesce(sum(n) FILTER (WHERE value = 'submitted'), 0),"
	"   'processing', coalesce(sum(n) FILTER (WHERE value = 'processing'), 0),"
	"   'triaged', coalesce(sum(n) FILTER (WHERE value = 'triaged'), 0),"
	"   'failed', coalesce(sum(n) FILTER (WHERE value = 'failed'), 0))"
	"   FROM incident_count_totals WHERE dim = 'status'),"
	" 'enrichers', json_build_object('active', $1::int, 'slots', $2::int, 'busy', $3::int),"
	" 'triage_latency_ms', (SELECT json_build_object("
	"   'p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)::numeric),"
	"   'p95', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::numeric))"
	"   FROM incidents WHERE finished_at > now() - interval '1 hour'"
	"   AND status = 'triaged'),"
	" 'failure_rate', (SELECT coalesce(round((count(*) FILTER (WHERE status = 'failed'))"
	"   ::numeric / nullif(count(*), 0), 4), 0) FROM incidents"
	"   WHERE finished_at > now() - interval '1 hour'),"
	" 'model', coalesce((SELECT value FROM settings WHERE name = 'model'), $5),"
	" 'outbox', json_build_object(" /* each over a partial index of sql/009 */
	"   'pending', (SELECT count(*) FROM notification_outbox"
	"     WHERE state IN ('pending', 'sending')),"
	"   'retrying', (SELECT count(*) FROM notification_outbox"
	"     WHERE state = 'pending' AND attempts > 0),"
	"   'failed_24h', (SELECT count(*) FROM notification_outbox"
	"     WHERE state = 'failed' AND finished_at > now() - interval '1 day'),"
	"   'oldest_due_at', triage_ts((SELECT min(due_at) FROM notification_outbox"
	"     WHERE state = 'pending'))),"
	" 'backends', (SELECT coalesce(json_agg(b ORDER BY b), '[]') FROM ("
	"   SELECT unnest($4::text[]) UNION SELECT backend FROM incidents"
	"   WHERE finished_at > now() - interval '1 hour' AND backend IS NOT NULL) x(b)),"
	" 'series', (SELECT json_agg(json_build_object("
	"   't', to_char(h, 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"'),"
	"   'critical', coalesce(c.critical, 0), 'high', coalesce(c.high, 0),"
	"   'medium', coalesce(c.medium, 0), 'low', coalesce(c.low, 0),"
	"   'untriaged', coalesce(c.untriaged, 0)) ORDER BY h)"
	"   FROM generate_series(date_trunc('hour', now() AT TIME ZONE 'UTC')"
	"     - interval '23 hours', date_trunc('hour', now() AT TIME ZONE 'UTC'),"
	"     interval '1 hour') h"
	"   LEFT JOIN (SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hh,"
	"     count(*) FILTER (WHERE coalesce(severity_override, severity) = 'critical')"
	"       AS critical,"
	"     count(*) FILTER (WHERE coalesce(severity_override, severity) = 'high') AS high,"
	"     count(*) FILTER (WHERE coalesce(severity_override, severity) = 'medium') AS medium,"
	"     count(*) FILTER (WHERE coalesce(severity_override, severity) = 'low') AS low,"
	"     count(*) FILTER (WHERE coalesce(severity_override, severity) IS NULL)"
	"       AS untriaged"
	"     FROM incidents WHERE created_at >= date_trunc('hour', now()) - interval '23 hours'"
	"     GROUP BY 1) c ON c.hh = h))";

int store_stats_run(store_reader *r, store_call *call)
{
	long active = 0, slots = 0, busy = 0;
	char a[24], s[24], b[24], backends[2048];
	PGresult *res = NULL;
	if (call->req.u.query.nparams > 0)
		return store_call_fail(call, TR_ERR_INVALID, "stats takes no parameters");
	if (r->enrichers)
		store_enrichers_snapshot(r->enrichers, tr_mono_ms(), &active, &slots, &busy,
					 backends, sizeof(backends));
	else
		snprintf(backends, sizeof(backends), "{}");
	snprintf(a, sizeof(a), "%ld", active);
	snprintf(s, sizeof(s), "%ld", slots);
	snprintf(b, sizeof(b), "%ld", busy);
	const char *p[] = {a, s, b, backends, r->cfg->default_model};
	int rc = store_db_exec(r->db, store_sql_stats, 5, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}

int store_settings_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	PGresult *res = NULL;
	int rc;
	if (q->op == PROTO_OP_SETTINGS_PUT) {
		const char *model = proto_kv_get(q->params, q->nparams, "model");
		if (q->nparams != 1 || !store_model_ok(model))
			return store_call_fail(call, TR_ERR_INVALID,
					       "model: 1-255 bytes of [A-Za-z0-9._:/-] (and "
					       "nothing else) required");
		const char *p[] = {model};
		rc = store_db_exec(r->db,
				   "INSERT INTO settings (name, value) VALUES ('model', $1)"
				   " ON CONFLICT (name) DO UPDATE SET value = $1, updated_at = now()",
				   1, p, NULL);
		if (rc != TR_OK)
			return store_query_db_fail(r, call, rc);
		tr_info("settings: model set to %s", model);
	} else if (q->nparams > 0) {
		return store_call_fail(call, TR_ERR_INVALID, "settings take no parameters here");
	}
	char review[16];
	snprintf(review, sizeof review, "%.2f", r->cfg->review_threshold_pct / 100.0);
	const char *p[] = {r->cfg->default_model, review};
	rc = store_db_exec(r->db,
			   "SELECT json_build_object('model', coalesce((SELECT value FROM settings"
			   " WHERE name = 'model'), $1), 'review_threshold', $2::numeric,"
			   " 'learned_model', (SELECT json_build_object('version', version,"
			   " 'features', features, 'corpus_examples', corpus_examples,"
			   " 'history_examples', history_examples, 'train_ms', train_ms,"
			   " 'size', octet_length(model), 'created_at', triage_ts(created_at))"
			   " FROM triage_models ORDER BY version DESC LIMIT 1))",
			   2, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}
