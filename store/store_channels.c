/* store_channels: the notification channels' API (list, create, update, delete, test):
 * the gateway has validated the fields; the table's CHECKs are the last word. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"
#include "tr_err.h"
#include "tr_log.h"

/* The columns a create or update may set, and the SQL expression of each parameter
 * ("%d" is its $n). Dynamic SQL is built only from this table. */
static const struct {
	const char *param;
	const char *expr;
} store_channel_cols[] = {
	{"name", "$%d"},
	{"kind", "$%d"},
	{"url", "$%d"},
	{"secret", "nullif($%d, '')"},
	{"min_severity", "nullif($%d, '')"},
	{"categories", "string_to_array($%d, ',')"},
	{"services", "string_to_array($%d, ',')"},
	{"events", "string_to_array($%d, ',')"},
	{"hold_down_s", "$%d::int"},
	{"enabled", "$%d::bool"},
};
#define STORE_CHANNEL_NCOLS (sizeof store_channel_cols / sizeof store_channel_cols[0])

static bool store_channel_known(const char *key)
{
	if (strcmp(key, "channel_id") == 0)
		return true;
	for (size_t i = 0; i < STORE_CHANNEL_NCOLS; i++) {
		if (strcmp(key, store_channel_cols[i].param) == 0)
			return true;
	}
	return false;
}

/* The channel_id parameter as a positive decimal id, or -1. */
static int64_t store_channel_id(const proto_query *q, char out[24])
{
	const char *v = proto_kv_get(q->params, q->nparams, "channel_id");
	if (!v || !*v || strlen(v) > 18)
		return -1;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
	}
	int64_t id = strtoll(v, NULL, 10);
	if (id <= 0)
		return -1;
	snprintf(out, 24, "%" PRId64, id);
	return id;
}

/* A refused statement: a name taken is 409, a CHECK or cast 400, else the usual. */
static int store_channel_db_fail(store_reader *r, store_call *call, int rc)
{
	const char *state = store_db_sqlstate(r->db);
	if (rc == TR_ERR_DB && strcmp(state, "23505") == 0)
		return store_call_fail(call, TR_ERR_CONFLICT, "name: a channel with this name exists");
	if (rc == TR_ERR_DB && (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0))
		return store_call_fail(call, TR_ERR_INVALID,
				       "a field is out of range (see docs/API.md, channels)");
	return store_query_db_fail(r, call, rc);
}

/* An update that would leave a webhook without a secret is refused here, before the
 * table's CHECK would: PostgreSQL's message for that names the whole row (URL and all),
 * and messages are logged. TR_OK if the update may go ahead. */
static int store_channel_unsigned(store_reader *r, store_call *call, const char *id)
{
	const proto_query *q = &call->req.u.query;
	const char *kind = proto_kv_get(q->params, q->nparams, "kind");
	const char *secret = proto_kv_get(q->params, q->nparams, "secret");
	PGresult *res = NULL;
	const char *p[] = {id, kind, secret};
	int rc = store_db_exec(r->db,
			       "SELECT 1 FROM notification_channels WHERE id = $1"
			       " AND coalesce($2, kind) = 'webhook'"
			       " AND (CASE WHEN $3::text IS NULL THEN secret ELSE nullif($3, '') END)"
			       " IS NULL",
			       3, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	int rows = PQntuples(res);
	PQclear(res);
	if (rows > 0)
		return store_call_fail(call, TR_ERR_INVALID,
				       "secret: a webhook channel needs one (its HMAC key)");
	return TR_OK;
}

/* Runs sql (one row with the JSON in column 0, or none: 404) and answers with it. */
static int store_channel_answer(store_reader *r, store_call *call, const char *sql, int n,
				const char *const *p)
{
	PGresult *res = NULL;
	int rc = store_db_exec(r->db, sql, n, p, &res);
	if (rc != TR_OK)
		return store_channel_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such channel");
	}
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}

/* CREATE (id < 0) or UPDATE (id > 0) from the parameters present. */
static int store_channel_write(store_reader *r, store_call *call, const char *id)
{
	const proto_query *q = &call->req.u.query;
	const char *p[STORE_CHANNEL_NCOLS + 1];
	char cols[512] = "", vals[1024] = "", one[64];
	size_t used_c = 0, used_v = 0;
	int n = 0;
	if (id)
		p[n++] = id;
	for (size_t i = 0; i < STORE_CHANNEL_NCOLS; i++) {
		const char *v = proto_kv_get(q->params, q->nparams, store_channel_cols[i].param);
		if (!v)
			continue;
		p[n++] = v;
		snprintf(one, sizeof one, store_channel_cols[i].expr, n);
		int wc = id ? snprintf(cols + used_c, sizeof cols - used_c, "%s%s = %s",
				       used_c ? ", " : "", store_channel_cols[i].param, one)
			    : snprintf(cols + used_c, sizeof cols - used_c, "%s%s",
				       used_c ? ", " : "", store_channel_cols[i].param);
		int wv = id ? 0
			    : snprintf(vals + used_v, sizeof vals - used_v, "%s%s",
				       used_v ? ", " : "", one);
		used_c += (size_t)wc;
		used_v += (size_t)wv;
	}
	char sql[2048];
	if (id && n == 1)
		return store_call_fail(call, TR_ERR_INVALID, "nothing to change");
	if (id && store_channel_unsigned(r, call, id) != TR_OK)
		return call->code;
	if (id)
		snprintf(sql, sizeof sql,
			 "UPDATE notification_channels c SET %s, updated_at = now() WHERE id = $1"
			 " RETURNING triage_channel_json(c)",
			 cols);
	else
		snprintf(sql, sizeof sql,
			 "INSERT INTO notification_channels AS c (%s) VALUES (%s)"
			 " RETURNING triage_channel_json(c)",
			 cols, vals);
	int rc = store_channel_answer(r, call, sql, n, p);
	if (rc == TR_OK)
		tr_info("channel %s %s", id ? id : "new", id ? "updated" : "created");
	return rc;
}

int store_channel_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	char id[24];
	for (size_t i = 0; i < q->nparams; i++) {
		if (!store_channel_known(q->params[i].key))
			return store_call_fail(call, TR_ERR_INVALID, "unknown channel parameter");
	}
	if (q->op == PROTO_OP_CHANNEL_LIST) {
		if (q->nparams)
			return store_call_fail(call, TR_ERR_INVALID, "list takes no parameters");
		const char *sql = "SELECT json_build_object('channels', coalesce(json_agg("
				  "triage_channel_json(c) ORDER BY c.id), '[]'))"
				  " FROM notification_channels c";
		return store_channel_answer(r, call, sql, 0, NULL);
	}
	if (q->op == PROTO_OP_CHANNEL_CREATE) {
		if (proto_kv_get(q->params, q->nparams, "channel_id"))
			return store_call_fail(call, TR_ERR_INVALID, "channel_id: not on create");
		if (!proto_kv_get(q->params, q->nparams, "name") ||
		    !proto_kv_get(q->params, q->nparams, "kind") ||
		    !proto_kv_get(q->params, q->nparams, "url"))
			return store_call_fail(call, TR_ERR_INVALID, "name, kind and url are required");
		return store_channel_write(r, call, NULL);
	}
	if (store_channel_id(q, id) < 0)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such channel");
	const char *p[] = {id};
	switch (q->op) {
	case PROTO_OP_CHANNEL_UPDATE: return store_channel_write(r, call, id);
	case PROTO_OP_CHANNEL_DELETE:
		if (q->nparams != 1)
			return store_call_fail(call, TR_ERR_INVALID, "delete takes only the id");
		tr_info("channel %s deleted (its queued deliveries with it)", id);
		return store_channel_answer(r, call,
					    "DELETE FROM notification_channels WHERE id = $1"
					    " RETURNING json_build_object('id', id, 'deleted', true)",
					    1, p);
	case PROTO_OP_CHANNEL_TEST:
		if (q->nparams != 1)
			return store_call_fail(call, TR_ERR_INVALID, "test takes only the id");
		return store_channel_answer(
			r, call,
			"INSERT INTO notification_outbox (event_id, channel_id, incident_id, event,"
			" payload) SELECT nextval('notification_event_ids'), c.id, NULL, 'test',"
			" jsonb_build_object('message', 'A test notification from triage.')"
			" FROM notification_channels c WHERE c.id = $1"
			" RETURNING json_build_object('delivery_id', id, 'event_id', event_id,"
			" 'channel_id', channel_id, 'state', state)",
			1, p);
	default: return store_call_fail(call, TR_ERR_INVALID, "unknown operation");
	}
}
