/* store_integrations: the INTEGRATIONS query: for each alerting source, when its last
 * delivery arrived, how many events it carried and what they did (sql/008_sources.sql). */
#include <stdlib.h>
#include <string.h>

#include "store_query.h"
#include "tr_err.h"

static const char store_sql_integrations[] =
	"SELECT json_build_object('sources', coalesce(json_agg(json_build_object("
	"'source', source, 'last_at', triage_ts(last_at), 'last_events', last_events,"
	" 'last_summary', last_summary, 'deliveries', deliveries, 'events', events)"
	" ORDER BY source), '[]'::json)) FROM integration_sources";

int store_integrations_run(store_reader *r, store_call *call)
{
	PGresult *res = NULL;
	if (call->req.u.query.nparams > 0)
		return store_call_fail(call, TR_ERR_INVALID, "this query takes no parameters");
	int rc = store_db_exec(r->db, store_sql_integrations, 0, NULL, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	char *json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return store_call_ok(call, json);
}
