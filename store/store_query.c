/* store_query: the reader pools and the read operations (READY, LIST, GET).
 *
 * DESIGN: REP contexts queue QUERY calls (store_query_submit, any thread) into a
 * tr_pool; cfg->readers reader threads (its workers), each with its own PGconn, take
 * one call at a time, answer it (reads here, actions and stats in store_actions.c) and
 * call done(). READY has a pool of its own (one thread, its own PGconn): health checks
 * never wait behind slow searches, only for the database itself. */
#include "store_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "store_model.h"
#include "store_metrics.h"
#include "store_params.h"
#include "store_similar.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_pool.h"
#include "tr_time.h"

#define STORE_TIMELINE_MAX 200 /* most recent events shown by GET */

struct store_query {
	const store_config *cfg;
	store_events *events;
	store_dispatch *dispatch;
	store_enrichers *enrichers;
	tr_pool *readers;
	tr_pool *health; /* READY only */
};

#define STORE_SQL_Q_MATCH(q)                                                              \
	"(title || E'\\n' || description) ILIKE " q " AND (strpos(" q ", E'\\n') = 0"        \
	" OR title ILIKE " q " OR description ILIKE " q ")"
static const char store_sql_list[] =
	"SELECT id, triage_incident_json(i) FROM incidents i"
	" WHERE ($1::text IS NULL OR status = $1)"
	" AND ($2::text IS NULL OR coalesce(severity_override, severity) = $2)"
	" AND ($3::text IS NULL OR coalesce(category_override, category) = $3)"
	" AND ($4::text IS NULL OR state = $4)"
	/* q: the trigram index of title, newline, description (sql/019) holds the rows with
	 * their search data; the others (just ingested, sql/017) are read through
	 * incidents_unsearched. A pattern without a newline matches the joined text exactly
	 * when it matches one field (PostgreSQL folds the strpos test away at planning); one
	 * with a newline is also matched against each field. */
	" AND ($5::text IS NULL"
	" OR (search_tsv IS NOT NULL AND " STORE_SQL_Q_MATCH("$5") ")"
	" OR (search_tsv IS NULL AND " STORE_SQL_Q_MATCH("$5") "))"
	" AND ($6::bigint IS NULL OR id < $6)"
	" ORDER BY id DESC LIMIT $7";

static const char store_sql_get[] =
	"SELECT triage_incident_json(i), (SELECT coalesce(json_agg(triage_event_json(e)"
	" ORDER BY e.id), '[]') FROM (SELECT * FROM incident_events WHERE incident_id = i.id"
	" ORDER BY id DESC LIMIT $2) e) FROM incidents i WHERE i.id = $1";

int store_query_db_fail(store_reader *r, store_call *call, int rc)
{
	char detail[320];
	if (rc == TR_ERR_UNAVAILABLE || rc == TR_ERR_CONFLICT) {
		snprintf(detail, sizeof(detail), "database unavailable: %s",
			 store_db_errmsg(r->db));
		return store_call_fail(call, TR_ERR_UNAVAILABLE, detail);
	}
	if (rc == TR_ERR_NOMEM)
		return store_call_fail(call, TR_ERR_NOMEM, "out of memory");
	snprintf(detail, sizeof(detail), "database error %s", store_db_sqlstate(r->db));
	return store_call_fail(call, TR_ERR_DB, detail);
}

static int store_ready(store_reader *r, store_call *call)
{
	const char *p[] = {r->cfg->store_id};
	int rc = store_db_exec(r->db,
			       "WITH gone AS (DELETE FROM store_heartbeats"
			       " WHERE at < now() - interval '1 day' AND store_id <> $1)"
			       " INSERT INTO store_heartbeats (store_id, at) VALUES ($1, now())"
			       " ON CONFLICT (store_id) DO UPDATE SET at = now()",
			       1, p, NULL);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	return store_call_ok(call, strdup("{\"status\":\"ready\"}"));
}

static int store_list(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	store_list_query lq;
	char detail[200];
	char before[24], limit[24];
	PGresult *res = NULL;
	store_buf b;
	if (store_list_parse(q->params, q->nparams, &lq, detail, sizeof(detail)) != TR_OK)
		return store_call_fail(call, TR_ERR_INVALID, detail);
	snprintf(before, sizeof(before), "%" PRId64, lq.before_id);
	snprintf(limit, sizeof(limit), "%ld", lq.limit + 1);
	const char *p[] = {lq.status, lq.severity, lq.category, lq.state,
			   lq.has_q ? lq.q_like : NULL, lq.before_id > 0 ? before : NULL, limit};
	int rc = store_db_exec(r->db, store_sql_list, 7, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	int rows = PQntuples(res);
	bool more = rows > lq.limit;
	if (more)
		rows = (int)lq.limit;
	store_buf_init(&b, PROTO_JSON_MAX);
	store_buf_adds(&b, "{\"items\":[");
	int shown = 0;
	for (int i = 0; i < rows; i++) {
		size_t mark = b.len;
		if (i)
			store_buf_adds(&b, ",");
		store_buf_adds(&b, PQgetvalue(res, i, 1));
		if (b.failed || b.len + 64 > PROTO_JSON_MAX) {
			/* the page is full in bytes: end it here, the cursor continues */
			b.failed = false;
			b.len = mark;
			b.data[mark] = '\0';
			more = true;
			break;
		}
		shown++;
	}
	if (more && shown > 0) {
		char cursor[STORE_CURSOR_MAX];
		store_cursor_encode(strtoll(PQgetvalue(res, shown - 1, 0), NULL, 10), cursor);
		store_buf_addf(&b, "],\"next_cursor\":\"%s\"}", cursor);
	} else {
		store_buf_adds(&b, "],\"next_cursor\":null}");
	}
	PQclear(res);
	return store_call_ok(call, store_buf_take(&b));
}

static int store_get(store_reader *r, store_call *call)
{
	char id[24], max[16];
	PGresult *res = NULL;
	int rc = TR_OK;
	int64_t iid = call->req.u.query.incident_id;
	if (iid <= 0)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	snprintf(id, sizeof(id), "%" PRId64, iid);
	for (int limit = STORE_TIMELINE_MAX; limit > 0; limit /= 10) {
		snprintf(max, sizeof(max), "%d", limit);
		const char *p[] = {id, max};
		rc = store_db_exec(r->db, store_sql_get, 2, p, &res);
		if (rc != TR_OK)
			return store_query_db_fail(r, call, rc);
		if (PQntuples(res) == 0) {
			PQclear(res);
			return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
		}
		const char *inc = PQgetvalue(res, 0, 0);
		const char *timeline = PQgetvalue(res, 0, 1);
		size_t len = strlen(inc);
		while (len > 0 && inc[len - 1] != '}')
			len--;
		store_buf b;
		store_buf_init(&b, PROTO_JSON_MAX);
		store_buf_add(&b, inc, len > 0 ? len - 1 : 0);
		store_buf_adds(&b, ", \"timeline\" : ");
		store_buf_adds(&b, timeline);
		store_buf_adds(&b, "}");
		PQclear(res);
		res = NULL;
		char *json = store_buf_take(&b);
		if (json) {
			call->incident_id = iid;
			return store_call_ok(call, json);
		}
	}
	return store_call_fail(call, TR_ERR_INTERNAL, "the incident is too large to show");
}

void store_query_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	int64_t left = q->deadline_ms ? q->deadline_ms - tr_now_ms() : 0;
	if (q->deadline_ms && left < PROTO_COMMIT_MARGIN_MS) {
		/* the gateway has answered, or is about to answer, 503: do nothing */
		store_call_fail(call, TR_ERR_UNAVAILABLE,
				"too late to answer before the gateway's deadline");
		return;
	}
	int rc = store_db_ensure(r->db);
	if (rc != TR_OK) {
		store_query_db_fail(r, call, rc);
		return;
	}
	store_db_set_deadline(r->db, q->deadline_ms ? tr_mono_ms() + left : 0,
			      PROTO_COMMIT_MARGIN_MS);
	switch (q->op) {
	case PROTO_OP_READY: store_ready(r, call); break;
	case PROTO_OP_LIST: store_list(r, call); break;
	case PROTO_OP_GET: store_get(r, call); break;
	case PROTO_OP_RETRIAGE:
	case PROTO_OP_ACKNOWLEDGE:
	case PROTO_OP_RESOLVE:
	case PROTO_OP_OVERRIDE:
	case PROTO_OP_FEEDBACK: store_action_run(r, call); break;
	case PROTO_OP_SIMILAR: store_similar_run(r, call); break;
	case PROTO_OP_STATS: store_stats_run(r, call); break;
	case PROTO_OP_SETTINGS_GET:
	case PROTO_OP_SETTINGS_PUT: store_settings_run(r, call); break;
	case PROTO_OP_KEY_LOOKUP:
	case PROTO_OP_KEY_CREATE:
	case PROTO_OP_KEY_LIST:
	case PROTO_OP_KEY_REVOKE: store_keys_run(r, call); break;
	case PROTO_OP_MODEL_GET: store_model_get_run(r, call); break;
	case PROTO_OP_INTEGRATIONS: store_integrations_run(r, call); break;
	case PROTO_OP_METRICS: store_metrics_run(r, call); break;
	case PROTO_OP_CHANNEL_LIST:
	case PROTO_OP_CHANNEL_CREATE:
	case PROTO_OP_CHANNEL_UPDATE:
	case PROTO_OP_CHANNEL_DELETE:
	case PROTO_OP_CHANNEL_TEST: store_channel_run(r, call); break;
	case PROTO_OP_NOTIFICATIONS: store_outbox_list(r, call); break;
	default: store_call_fail(call, TR_ERR_INVALID, "unknown operation"); break;
	}
	store_db_set_deadline(r->db, 0, 0);
}

static void *store_reader_init(void *arg)
{
	store_query *q = arg;
	store_reader *r = calloc(1, sizeof(*r));
	if (r) {
		*r = (store_reader){.cfg = q->cfg, .events = q->events, .dispatch = q->dispatch,
				    .enrichers = q->enrichers};
		r->db = store_db_new(q->cfg->database_url, q->cfg->db_timeout_ms, "reader",
				     STORE_DB_DURABLE);
	}
	if (!r || !r->db)
		tr_error("query: out of memory starting a reader");
	return r;
}

static void store_reader_run(void *state, void **items, size_t n, void *arg)
{
	store_reader *r = state;
	(void)arg;
	for (size_t i = 0; i < n; i++) {
		store_call *call = items[i];
		if (r && r->db)
			store_query_run(r, call);
		else
			store_call_fail(call, TR_ERR_NOMEM, "out of memory");
		tr_debug("query %s -> %s", proto_op_name(call->req.u.query.op),
			 tr_errname(call->code));
		call->done(call);
	}
}

static void store_reader_fini(void *state, void *arg)
{
	store_reader *r = state;
	(void)arg;
	if (r)
		store_db_free(r->db);
	free(r);
}

static const tr_pool_ops store_reader_ops = {store_reader_init, store_reader_run,
					     store_reader_fini};

int store_query_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		      store_enrichers *enrichers, store_query **out)
{
	store_query *q = calloc(1, sizeof(*q));
	if (!q)
		return TR_ERR_NOMEM;
	q->cfg = cfg;
	q->events = events;
	q->dispatch = dispatch;
	q->enrichers = enrichers;
	int rc = tr_pool_start(&store_reader_ops, q, (size_t)cfg->readers, 1,
			       (size_t)cfg->rep_contexts, &q->readers);
	if (rc != TR_OK) {
		free(q);
		return rc;
	}
	rc = tr_pool_start(&store_reader_ops, q, 1, 1, (size_t)cfg->rep_contexts, &q->health);
	if (rc != TR_OK) {
		tr_pool_stop(q->readers);
		free(q);
		return rc;
	}
	*out = q;
	return TR_OK;
}

void store_query_submit(store_query *q, store_call *call)
{
	tr_pool *pool = call->req.u.query.op == PROTO_OP_READY ? q->health : q->readers;
	if (tr_pool_put(pool, call) != TR_OK) {
		store_call_fail(call, TR_ERR_UNAVAILABLE,
				"the store is stopping or has too many requests waiting");
		call->done(call);
	}
}

void store_query_stop(store_query *q)
{
	if (!q)
		return;
	tr_pool_stop(q->readers);
	tr_pool_stop(q->health);
	free(q);
}
