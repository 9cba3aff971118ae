/* nt_outbox: claim, finish and sweep statements of the notification outbox. */
#include "nt_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_err.h"

static const char nt_sql_claim[] =
	"WITH due AS (SELECT id FROM notification_outbox d"
	"  WHERE state = 'pending' AND due_at <= now()"
	"  AND NOT EXISTS (SELECT 1 FROM notification_outbox p WHERE p.incident_id = d.incident_id"
	"   AND p.channel_id = d.channel_id AND p.id < d.id AND p.state IN ('pending', 'sending')"
	"   OFFSET 0)" /* kept a per-row check (not an anti-join over every pending row) */
	"  ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" UPDATE notification_outbox o SET state = 'sending', attempts = o.attempts + 1,"
	"  lease_until = clock_timestamp() + $2 * interval '1 millisecond', claimed_by = $1"
	" FROM due, notification_channels c WHERE o.id = due.id AND c.id = o.channel_id"
	" RETURNING o.id, o.event_id, coalesce(o.incident_id, 0), o.channel_id, o.event,"
	"  triage_ts(o.created_at), c.name, c.kind, o.payload::text, o.attempts, c.url, c.secret,"
	"  (c.hold_down_s > 0 AND o.incident_id IS NOT NULL AND CASE"
	"   WHEN o.event = 'resolved' THEN"
	"    EXISTS (SELECT 1 FROM notification_outbox p WHERE p.channel_id = o.channel_id"
	"     AND p.incident_id = o.incident_id AND p.id < o.id)"
	"    AND NOT EXISTS (SELECT 1 FROM notification_outbox p WHERE p.channel_id = o.channel_id"
	"     AND p.incident_id = o.incident_id AND p.id < o.id AND p.state <> 'cancelled')"
	"   ELSE EXISTS (SELECT 1 FROM incidents i WHERE i.id = o.incident_id"
	"     AND i.state = 'resolved') END),"
	"  c.enabled";

int nt_outbox_claim(store_db *db, const char *notifier_id, long lease_ms, nt_outbox_row *row)
{
	char lease[24];
	PGresult *res = NULL;
	memset(row, 0, sizeof *row);
	snprintf(lease, sizeof lease, "%ld", lease_ms);
	const char *p[] = {notifier_id, lease};
	int rc = store_db_exec_prepared(db, "nt_claim", nt_sql_claim, 2, p, &res);
	if (rc != TR_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return TR_ERR_NOT_FOUND;
	}
	row->res = res;
	row->d.delivery_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	row->d.event_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	row->d.incident_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	row->d.channel_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	row->d.event = PQgetvalue(res, 0, 4);
	row->d.at = PQgetvalue(res, 0, 5);
	row->d.channel = PQgetvalue(res, 0, 6);
	row->d.kind = PQgetvalue(res, 0, 7);
	row->d.payload = PQgetvalue(res, 0, 8);
	row->attempts = strtol(PQgetvalue(res, 0, 9), NULL, 10);
	row->url = PQgetvalue(res, 0, 10);
	row->secret = PQgetisnull(res, 0, 11) ? NULL : PQgetvalue(res, 0, 11);
	row->quiet = PQgetvalue(res, 0, 12)[0] == 't';
	row->enabled = PQgetvalue(res, 0, 13)[0] == 't';
	return TR_OK;
}

void nt_outbox_row_free(nt_outbox_row *row)
{
	PQclear(row->res);
	memset(row, 0, sizeof *row);
}

/* Runs a finishing statement whose $1 and $2 are the row's id and attempt. */
static int nt_outbox_finish(store_db *db, const char *name, const char *sql,
			    const nt_outbox_row *row, const char *a3, const char *a4,
			    const char *a5, int n)
{
	char id[24], attempt[24];
	snprintf(id, sizeof id, "%lld", (long long)row->d.delivery_id);
	snprintf(attempt, sizeof attempt, "%ld", row->attempts);
	const char *p[] = {id, attempt, a3, a4, a5};
	return store_db_exec_prepared(db, name, sql, n, p, NULL);
}

#define NT_CLAIMED " WHERE id = $1 AND state = 'sending' AND attempts = $2"

int nt_outbox_sent(store_db *db, const nt_outbox_row *row, long status)
{
	char s[16];
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(db, "nt_sent",
				"UPDATE notification_outbox SET state = 'sent', last_status = $3,"
				" lease_until = NULL, finished_at = now()" NT_CLAIMED,
				row, s, NULL, NULL, 3);
}

int nt_outbox_retry(store_db *db, const nt_outbox_row *row, long delay_ms, long status,
		    const char *reason)
{
	char d[24], s[16];
	snprintf(d, sizeof d, "%ld", delay_ms);
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(db, "nt_retry",
				"UPDATE notification_outbox SET state = 'pending', lease_until = NULL,"
				" due_at = clock_timestamp() + $3 * interval '1 millisecond',"
				" last_status = nullif($4, '0')::int, last_error = $5" NT_CLAIMED,
				row, d, s, reason, 5);
}

int nt_outbox_fail(store_db *db, const nt_outbox_row *row, long status, const char *reason,
		   const char *notifier_id)
{
	char s[16];
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(
		db, "nt_fail",
		"WITH u AS (UPDATE notification_outbox SET state = 'failed', lease_until = NULL,"
		"  last_status = nullif($3, '0')::int, last_error = $4, finished_at = now()" NT_CLAIMED
		"  RETURNING id, event_id, incident_id, channel_id, event, attempts)"
		" INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
		" SELECT u.incident_id, 'notification_failed', i.status, i.attempt, 'notifier:' || $5::text,"
		"  jsonb_build_object('delivery_id', u.id, 'event_id', u.event_id, 'event', u.event,"
		"  'channel_id', u.channel_id, 'channel', c.name, 'attempts', u.attempts,"
		"  'reason', $4::text)"
		" FROM u JOIN incidents i ON i.id = u.incident_id"
		" JOIN notification_channels c ON c.id = u.channel_id",
		row, s, reason, notifier_id, 5);
}

int nt_outbox_cancel(store_db *db, const nt_outbox_row *row, const char *reason)
{
	return nt_outbox_finish(db, "nt_cancel",
				"UPDATE notification_outbox SET state = 'cancelled', lease_until = NULL,"
				" last_error = $3, finished_at = now()" NT_CLAIMED,
				row, reason, NULL, NULL, 3);
}

int nt_outbox_sweep(store_db *db, long retain_days, long *requeued)
{
	char days[24];
	PGresult *res = NULL;
	snprintf(days, sizeof days, "%ld", retain_days);
	int rc = store_db_exec_prepared(
		db, "nt_requeue",
		"UPDATE notification_outbox o SET state = 'pending', lease_until = NULL,"
		" last_error = 'lease expired: the notifier stopped during the delivery'"
		" FROM (SELECT id FROM notification_outbox WHERE state = 'sending'"
		"  AND lease_until < clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED) x"
		" WHERE o.id = x.id RETURNING o.id",
		0, NULL, &res);
	if (rc != TR_OK)
		return rc;
	if (requeued)
		*requeued = PQntuples(res);
	PQclear(res);
	const char *p[] = {days};
	return store_db_exec_prepared(
		db, "nt_purge",
		"DELETE FROM notification_outbox WHERE id IN (SELECT id FROM notification_outbox"
		" WHERE state IN ('sent', 'failed', 'cancelled')"
		" AND finished_at < now() - $1 * interval '1 day' LIMIT 1000)",
		1, p, NULL);
}
