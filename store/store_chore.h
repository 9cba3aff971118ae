/* store_chore: a periodic task on a thread of its own, with its own database connection:
 * run once at start, then every interval until stopped (the trainer, retention, planner
 * statistics). */
#ifndef STORE_CHORE_H
#define STORE_CHORE_H

#include <stdatomic.h>

#include "store_db.h"

typedef struct store_chore store_chore;

/* One round. db is the chore's connection (connect with store_db_ensure); *stop turns
 * true when store_chore_stop was called, for rounds that loop. */
typedef void (*store_chore_fn)(void *arg, store_db *db, const atomic_bool *stop);

/* Starts the thread. On TR_OK the chore owns db (freed at stop) and *out is set; on an
 * error (TR_ERR_NOMEM, TR_ERR_INTERNAL) nothing was started and db is the caller's.
 * arg must stay valid until store_chore_stop returns. name is for the log. */
int store_chore_start(const char *name, long interval_ms, store_chore_fn round, void *arg,
		      store_db *db, store_chore **out);

/* Stops the thread (a round in progress finishes; the wait between rounds ends at once),
 * frees the connection and the chore. NULL is fine. */
void store_chore_stop(store_chore *c);

#endif
