/* store_stmt_nt: the notifier's statements on the outbox (notifier/nt_outbox.c runs them
 * through store_db, which prepares only what store_stmts[] lists). */
#include "store_stmt.h"

/* Claims the oldest due delivery whose earlier ones (same incident, channel) are done.
 * $1 notifier id, $2 lease ms. */
const store_stmt store_stmt_nt_claim = {"nt_claim",
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
	"  c.enabled"};

#define NT_CLAIMED " WHERE id = $1 AND state = 'sending' AND attempts = $2"

const store_stmt store_stmt_nt_sent = {"nt_sent",
	"UPDATE notification_outbox SET state = 'sent', last_status = $3,"
	" lease_until = NULL, finished_at = now()" NT_CLAIMED};

const store_stmt store_stmt_nt_retry = {"nt_retry",
	"UPDATE notification_outbox SET state = 'pending', lease_until = NULL,"
	" due_at = clock_timestamp() + $3 * interval '1 millisecond',"
	" last_status = nullif($4, '0')::int, last_error = $5" NT_CLAIMED};

const store_stmt store_stmt_nt_fail = {"nt_fail",
	"WITH u AS (UPDATE notification_outbox SET state = 'failed', lease_until = NULL,"
	"  last_status = nullif($3, '0')::int, last_error = $4, finished_at = now()" NT_CLAIMED
	"  RETURNING id, event_id, incident_id, channel_id, event, attempts)"
	" INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT u.incident_id, 'notification_failed', i.status, i.attempt, 'notifier:' || $5::text,"
	"  jsonb_build_object('delivery_id', u.id, 'event_id', u.event_id, 'event', u.event,"
	"  'channel_id', u.channel_id, 'channel', c.name, 'attempts', u.attempts,"
	"  'reason', $4::text)"
	" FROM u JOIN incidents i ON i.id = u.incident_id"
	" JOIN notification_channels c ON c.id = u.channel_id"};

const store_stmt store_stmt_nt_cancel = {"nt_cancel",
	"UPDATE notification_outbox SET state = 'cancelled', lease_until = NULL,"
	" last_error = $3, finished_at = now()" NT_CLAIMED};

const store_stmt store_stmt_nt_requeue = {"nt_requeue",
	"UPDATE notification_outbox o SET state = 'pending', lease_until = NULL,"
	" last_error = 'lease expired: the notifier stopped during the delivery'"
	" FROM (SELECT id FROM notification_outbox WHERE state = 'sending'"
	"  AND lease_until < clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED) x"
	" WHERE o.id = x.id RETURNING o.id"};

const store_stmt store_stmt_nt_purge = {"nt_purge",
	"DELETE FROM notification_outbox WHERE id IN (SELECT id FROM notification_outbox"
	" WHERE state IN ('sent', 'failed', 'cancelled')"
	" AND finished_at < now() - $1 * interval '1 day' LIMIT 1000)"};
