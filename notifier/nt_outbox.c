/* nt_outbox: claim, finish and sweep of the notification outbox (the statements are
 * store/store_stmt_nt.c's, in the store's table of prepared statements). */
#include "nt_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_stmt.h"
#include "tr_err.h"

int nt_outbox_claim(store_db *db, const char *notifier_id, long lease_ms, nt_outbox_row *row)
{
	char lease[24];
	PGresult *res = NULL;
	memset(row, 0, sizeof *row);
	snprintf(lease, sizeof lease, "%ld", lease_ms);
	const char *p[] = {notifier_id, lease};
	int rc = store_db_exec_prepared(db, &store_stmt_nt_claim, 2, p, &res);
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
static int nt_outbox_finish(store_db *db, const store_stmt *st, const nt_outbox_row *row, const char *a3, const char *a4,
			    const char *a5, int n)
{
	char id[24], attempt[24];
	snprintf(id, sizeof id, "%lld", (long long)row->d.delivery_id);
	snprintf(attempt, sizeof attempt, "%ld", row->attempts);
	const char *p[] = {id, attempt, a3, a4, a5};
	return store_db_exec_prepared(db, st, n, p, NULL);
}

int nt_outbox_sent(store_db *db, const nt_outbox_row *row, long status)
{
	char s[16];
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(db, &store_stmt_nt_sent, row, s, NULL, NULL, 3);
}

int nt_outbox_retry(store_db *db, const nt_outbox_row *row, long delay_ms, long status,
		    const char *reason)
{
	char d[24], s[16];
	snprintf(d, sizeof d, "%ld", delay_ms);
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(db, &store_stmt_nt_retry, row, d, s, reason, 5);
}

int nt_outbox_fail(store_db *db, const nt_outbox_row *row, long status, const char *reason,
		   const char *notifier_id)
{
	char s[16];
	snprintf(s, sizeof s, "%ld", status);
	return nt_outbox_finish(db, &store_stmt_nt_fail, row, s, reason, notifier_id, 5);
}

int nt_outbox_cancel(store_db *db, const nt_outbox_row *row, const char *reason)
{
	return nt_outbox_finish(db, &store_stmt_nt_cancel, row, reason, NULL, NULL, 3);
}

int nt_outbox_sweep(store_db *db, long retain_days, long *requeued)
{
	char days[24];
	PGresult *res = NULL;
	snprintf(days, sizeof days, "%ld", retain_days);
	int rc = store_db_exec_prepared(db, &store_stmt_nt_requeue, 0, NULL, &res);
	if (rc != TR_OK)
		return rc;
	if (requeued)
		*requeued = PQntuples(res);
	PQclear(res);
	const char *p[] = {days};
	return store_db_exec_prepared(db, &store_stmt_nt_purge, 1, p, NULL);
}
