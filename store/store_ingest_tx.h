/* store_ingest_tx: one group-commit batch against the database: the multi-row
 * insert, the lookup of what it skipped (resends, repeated keys) and the occurrences
 * of open dedup keys. Internal to store_ingest (writer threads). */
#ifndef STORE_INGEST_TX_H
#define STORE_INGEST_TX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "store_batch.h"
#include "store_call.h"
#include "store_db.h"

/* A batch being committed. calls and subs are the caller's; the arrays have n
 * entries; occ (occurrence rows, for events after commit) is freed with PQclear. */
typedef struct {
	store_call **calls;
	size_t n;
	const proto_submit **subs;
	store_slot *slots;
	bool *done;        /* reply decided (before commit: provisional) */
	bool *dedup;       /* reply is an occurrence ("deduplicated": true) */
	bool *occurs;      /* scratch: becomes an occurrence */
	PGresult *occ;     /* occurrence rows, for events after commit */
	long retry_window_ms; /* TRIAGE_RETRY_WINDOW_MS */
} store_batch_run;

/* One attempt at the batch on db, in one transaction: sets the replies of the calls it
 * resolves (done[i]). Returns TR_OK (committed), or the error of the first failed step
 * (rolled back). */
int store_batch_tx(store_db *db, store_batch_run *b);

/* Forgets the replies of an attempt (before a retry). */
void store_batch_reset(store_batch_run *b);

#endif
