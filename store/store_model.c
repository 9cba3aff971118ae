/* store_model: MODEL_GET, one statement that cuts a part of the stored model and encodes
 * it, so a reply never holds more than STORE_MODEL_PART bytes of it. */
#include "store_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_err.h"

static const char store_sql_model_part[] =
	"SELECT json_build_object('version', version, 'size', octet_length(model),"
	" 'offset', $2::int, 'data', translate(encode(substring(model FROM $2::int + 1 FOR $3::int),"
	" 'base64'), E'\\n', ''))"
	" FROM triage_models WHERE version = CASE WHEN $1::bigint > 0 THEN $1::bigint"
	" ELSE (SELECT max(version) FROM triage_models) END";

/* A decimal of 1..18 digits (or absent: "0"). */
static bool decimal_param(const char *v, const char **out)
{
	if (!v) {
		*out = "0";
		return true;
	}
	size_t n = strlen(v);
	if (n == 0 || n > 18 || strspn(v, "0123456789") != n)
		return false;
	*out = v;
	return true;
}

int store_model_get_run(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	const char *version, *offset;
	char part[16];
	if (!decimal_param(proto_kv_get(q->params, q->nparams, "version"), &version) ||
	    !decimal_param(proto_kv_get(q->params, q->nparams, "offset"), &offset) ||
	    strtoll(offset, NULL, 10) > 0x7fffffff)
		return store_call_fail(call, TR_ERR_INVALID,
				       "version and offset: non-negative decimal integers");
	snprintf(part, sizeof part, "%d", STORE_MODEL_PART);
	const char *p[] = {version, offset, part};
	PGresult *res = NULL;
	int rc = store_db_exec(r->db, store_sql_model_part, 3, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such model version");
	}
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}
