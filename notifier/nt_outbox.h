/* nt_outbox: the notifier's statements on the outbox (sql/009): claim one due row with
 * SKIP LOCKED under a lease, finish it (sent, retry later, failed with a timeline entry,
 * cancelled), hand back rows whose lease expired, delete old finished rows. Every
 * finish is conditional on the claim (state sending, same attempt), so a row re-claimed
 * after a lease expired is never finished twice. Not thread-safe: one db per thread. */
#ifndef NT_OUTBOX_H
#define NT_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "nt_message.h"
#include "store_db.h"

/* A claimed row. Strings point into res, valid until nt_outbox_row_free(). */
typedef struct {
	PGresult *res;
	nt_delivery d;
	long attempts;       /* including this one */
	const char *url;
	const char *secret;  /* NULL: no signature */
	bool quiet;          /* hold-down: resolved meanwhile, send nothing */
	bool enabled;        /* the channel's switch */
} nt_outbox_row;

/* Claims the oldest due row. A row waits while an earlier row of the same channel and
 * incident is unfinished, so one receiver hears of one incident in order (and a
 * resolve under hold-down is decided only after what it would follow). TR_OK with *row filled, TR_ERR_NOT_FOUND if none is due,
 * else a database error (see store_db_exec). */
int nt_outbox_claim(store_db *db, const char *notifier_id, long lease_ms, nt_outbox_row *row);
void nt_outbox_row_free(nt_outbox_row *row);

int nt_outbox_sent(store_db *db, const nt_outbox_row *row, long status);
/* Back to pending, due after delay_ms; status 0: no HTTP answer. */
int nt_outbox_retry(store_db *db, const nt_outbox_row *row, long delay_ms, long status,
		    const char *reason);
/* Failed for good; writes notification_failed on the incident's timeline. */
int nt_outbox_fail(store_db *db, const nt_outbox_row *row, long status, const char *reason,
		   const char *notifier_id);
int nt_outbox_cancel(store_db *db, const nt_outbox_row *row, const char *reason);

/* Rows whose lease expired go back to pending; finished rows older than retain_days
 * are deleted. *requeued (may be NULL) counts the former. */
int nt_outbox_sweep(store_db *db, long retain_days, long *requeued);

#endif
