/* store_keys: the API-key operations (KEY_LOOKUP, KEY_CREATE, KEY_LIST, KEY_REVOKE)
 * on table api_keys (sql/005). Keys arrive as hex SHA-256 digests only; nothing here
 * ever sees a key's text. Each is one statement on the reader's connection. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "store_query.h"
#include "tr_err.h"
#include "tr_log.h"

#define STORE_KEY_RECORD                                                                    \
	"json_build_object('id', id, 'name', name, 'role', role, 'created_at',"             \
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"      \
	" 'revoked_at', to_char(revoked_at AT TIME ZONE 'UTC',"                             \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text"

static bool store_key_digest_ok(const char *d)
{
	if (!d || strlen(d) != 64)
		return false;
	for (const char *p = d; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

static bool store_key_role_ok(const char *r)
{
	return r && (strcmp(r, "viewer") == 0 || strcmp(r, "reporter") == 0 ||
		     strcmp(r, "responder") == 0 || strcmp(r, "admin") == 0);
}

/* Runs sql and answers with its single text value, or NOT_FOUND when no row. */
static int store_key_one(store_reader *r, store_call *call, const char *sql, int n,
			 const char *const *p, const char *missing)
{
	PGresult *res = NULL;
	int rc = store_db_exec(r->db, sql, n, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_call_fail(call, TR_ERR_NOT_FOUND, missing);
	}
	char *json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return store_call_ok(call, json);
}

static int store_key_create(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	const char *name = proto_kv_get(q->params, q->nparams, "name");
	const char *role = proto_kv_get(q->params, q->nparams, "role");
	const char *digest = proto_kv_get(q->params, q->nparams, "digest");
	if (!name || !*name || strlen(name) > 64)
		return store_call_fail(call, TR_ERR_INVALID, "name: must be 1-64 characters");
	if (!store_key_role_ok(role))
		return store_call_fail(call, TR_ERR_INVALID,
				       "role: must be viewer, reporter, responder or admin");
	if (!store_key_digest_ok(digest))
		return store_call_fail(call, TR_ERR_INVALID, "digest: must be 64 hex digits");
	const char *p[] = {name, role, digest};
	int rc = store_key_one(r, call,
			       "INSERT INTO api_keys (name, role, digest)"
			       " VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT (digest) DO NOTHING"
			       " RETURNING " STORE_KEY_RECORD,
			       3, p, "a key with this digest exists");
	if (rc == TR_ERR_NOT_FOUND)
		return store_call_fail(call, TR_ERR_CONFLICT, "a key with this digest exists");
	if (rc == TR_OK)
		tr_info("keys: created key '%s' with role %s", name, role);
	return rc;
}

static int store_key_list(store_reader *r, store_call *call)
{
	return store_key_one(r, call,
			     "SELECT json_build_object('items', coalesce(json_agg(k.j::json"
			     " ORDER BY k.id DESC), '[]'))::text FROM (SELECT id, " STORE_KEY_RECORD
			     " AS j FROM api_keys) k",
			     0, NULL, "no keys");
}

static int store_key_revoke(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	const char *id = proto_kv_get(q->params, q->nparams, "id");
	char *end = NULL;
	long long v = id ? strtoll(id, &end, 10) : 0;
	if (!id || !*id || *end || v <= 0)
		return store_call_fail(call, TR_ERR_INVALID, "id: must be a key id");
	const char *p[] = {id};
	int rc = store_key_one(r, call,
			       "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
			       " WHERE id = $1::bigint RETURNING " STORE_KEY_RECORD,
			       1, p, "no such key");
	if (rc == TR_OK)
		tr_info("keys: revoked key k%s", id);
	return rc;
}

int store_keys_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	switch (q->op) {
	case PROTO_OP_KEY_LOOKUP: {
		const char *digest = proto_kv_get(q->params, q->nparams, "digest");
		if (!store_key_digest_ok(digest))
			return store_call_fail(call, TR_ERR_INVALID, "digest: must be 64 hex digits");
		const char *p[] = {digest};
		return store_key_one(r, call,
				     "SELECT json_build_object('id', id, 'name', name, 'role',"
				     " role)::text FROM api_keys WHERE digest = decode($1, 'hex')"
				     " AND revoked_at IS NULL",
				     1, p, "no such key");
	}
	case PROTO_OP_KEY_CREATE: return store_key_create(r, call);
	case PROTO_OP_KEY_LIST: return store_key_list(r, call);
	case PROTO_OP_KEY_REVOKE: return store_key_revoke(r, call);
	default: return store_call_fail(call, TR_ERR_INVALID, "unknown operation");
	}
}
