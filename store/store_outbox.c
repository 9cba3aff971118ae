/* store_outbox: what the API shows of the notification outbox: an incident's deliveries
 * and the outbox's depth for /metrics (the notifier, not the store, delivers; sql/009). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"
#include "tr_err.h"
#include "tr_prom.h"

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

int store_outbox_metrics(store_reader *r, tr_buf *b)
{
	PGresult *res = NULL;
	int rc = store_db_exec(
		r->db,
		"SELECT (SELECT count(*) FROM notification_outbox WHERE state IN ('pending', 'sending')),"
		" (SELECT count(*) FROM notification_outbox WHERE state = 'pending' AND attempts > 0),"
		" (SELECT count(*) FROM notification_outbox WHERE state = 'failed'"
		"  AND finished_at > now() - interval '1 day')",
		0, NULL, &res);
	if (rc != TR_OK)
		return rc;
	tr_prom_header(b, "triage_notification_outbox", "gauge",
		       "notifications queued or in flight (pending), and those waiting after a "
		       "failed attempt (retrying)");
	tr_buf_addf(b, "triage_notification_outbox{state=\"pending\"} %s\n", PQgetvalue(res, 0, 0));
	tr_buf_addf(b, "triage_notification_outbox{state=\"retrying\"} %s\n",
		       PQgetvalue(res, 0, 1));
	tr_prom_header(b, "triage_notifications_failed_24h", "gauge",
		       "deliveries given up in the last 24 hours");
	tr_buf_addf(b, "triage_notifications_failed_24h %s\n", PQgetvalue(res, 0, 2));
	PQclear(res);
	return TR_OK;
}
