/* store_retention: deletes resolved incidents older than TRIAGE_RETENTION_DAYS, in
 * small batches (one short transaction each), optionally archiving them first. */
#ifndef STORE_RETENTION_H
#define STORE_RETENTION_H

#include <stdatomic.h>

#include "store_chore.h"
#include "store_config.h"
#include "store_db.h"

typedef store_chore store_retention;

/* Starts the retention thread when cfg->retention_days > 0; otherwise sets *out to NULL
 * and does nothing. TR_OK or an error (nothing started). Stop with
 * store_retention_stop (NULL is fine). */
int store_retention_start(const store_config *cfg, store_retention **out);

/* Stops the thread (a batch in progress finishes or is rolled back) and frees. */
void store_retention_stop(store_retention *r);

/* One sweep: batches until a batch deletes fewer than cfg->retention_batch rows or
 * *stop becomes true. Returns the number deleted, or -1 on a database error (logged).
 * Exposed for the thread above; db is the caller's connection. */
long store_retention_sweep(store_db *db, const store_config *cfg, const atomic_bool *stop);

#endif
