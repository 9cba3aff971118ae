/* store_outbox: what the API shows of the notification outbox: an incident's deliveries
 * (the notifier, not the store, claims and delivers the rows; sql/009). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"
#include "tr_err.h"

int store_outbox_list(store_reader *r, store_call *call)
{
	const proto_query *q = &call->req.u.query;
	char id[24];
	PGresult *res = NULL;
	if (q->incident_id <= 0)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	if (q->nparams > 0)
		return store_call_fail(call, TR_ERR_INVALID, "notifications take no parameters");
	snprintf(id, sizeof id, "%" PRId64, q->incident_id);
	const char *p[] = {id};
	int rc = store_db_exec(
		r->db,
		"SELECT json_build_object('incident_id', i.id, 'notifications',"
		" (SELECT coalesce(json_agg(triage_delivery_json(o, c) ORDER BY o.id), '[]')"
		"  FROM notification_outbox o JOIN notification_channels c ON c.id = o.channel_id"
		"  WHERE o.incident_id = i.id))"
		" FROM incidents i WHERE i.id = $1",
		1, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	}
	call->incident_id = q->incident_id;
	rc = store_call_ok(call, strdup(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}
