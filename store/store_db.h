/* store_db: one PostgreSQL connection owned by one thread, with automatic reconnect,
 * a deadline on every statement, and libpq errors mapped to tr_err (logged once here).
 *
 * A broken or timed-out connection is dropped; the next store_db_ensure() reconnects,
 * no more often than a short backoff, so a stopped PostgreSQL costs callers a fast
 * TR_ERR_UNAVAILABLE rather than a hang. Not thread-safe: one store_db per thread. */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "store_stmt.h"

typedef struct store_db store_db;

/* How much a commit on this connection promises. */
typedef enum {
	STORE_DB_DURABLE = 0, /* synchronous_commit on: COMMIT returns once it is on disk */
	STORE_DB_LAZY,        /* synchronous_commit off: for writes nobody was promised and
			       * that the lease machinery redoes if a crash loses them
			       * (dispatch claims, enricher results) */
} store_db_durability;

/* Makes a handle (does not connect). url is copied; role names the thread in logs.
 * timeout_ms bounds each statement (and connecting, at most 5 s). NULL when out of
 * memory. */
store_db *store_db_new(const char *url, long timeout_ms, const char *role,
		       store_db_durability durability);
void store_db_free(store_db *db);

/* Makes this an ingest writer's connection (before the first connect): incidents it
 * inserts get their search data later (sql/017: at their first update or from the
 * sweep), and its statements never read a table sequentially (see store_db_connect). */
void store_db_set_ingest(store_db *db);

/* Connects if not connected. TR_OK, or TR_ERR_UNAVAILABLE (down, or retried too soon). */
int store_db_ensure(store_db *db);

/* True while the handle holds a connection that libpq considers healthy. */
bool store_db_connected(const store_db *db);

/* Runs one statement with text parameters (NULL = SQL NULL) and waits at most the
 * timeout. On TR_OK, *out (if not NULL) receives the result, freed by the caller with
 * PQclear; otherwise nothing is returned. Errors: TR_ERR_UNAVAILABLE (no connection,
 * connection lost, timeout, server shutting down), TR_ERR_CONFLICT (serialization
 * failure or deadlock: retry the transaction), TR_ERR_DB (the statement failed: the
 * transaction, if any, is aborted; see store_db_sqlstate()). */
int store_db_exec(store_db *db, const char *sql, int nparams, const char *const *params,
		  PGresult **out);

/* The same with st prepared once per connection under its short name, for statements
 * run often. st must be listed in store_stmts[] (else TR_ERR_INTERNAL, nothing sent). */
int store_db_exec_prepared(store_db *db, const store_stmt *st, int nparams,
			   const char *const *params, PGresult **out);

/* Runs a script of several statements (simple protocol, no parameters). */
int store_db_script(store_db *db, const char *sql);

/* BEGIN / COMMIT / ROLLBACK. Rollback ignores errors (a lost connection rolls back). */
int store_db_begin(store_db *db);
int store_db_commit(store_db *db);
void store_db_rollback(store_db *db);

/* The SQLSTATE of the last failed statement ("" if none) and its message. */
const char *store_db_sqlstate(const store_db *db);
const char *store_db_errmsg(const store_db *db);

/* Caps every statement's deadline at deadline_ms (monotonic; 0 removes the cap) minus
 * margin_ms, and COMMIT's at deadline_ms itself: store_db_commit() refuses to send
 * COMMIT with less than margin_ms left (it rolls back and returns TR_ERR_UNAVAILABLE).
 * For calls that carry the gateway's deadline. */
void store_db_set_deadline(store_db *db, int64_t deadline_ms, long margin_ms);

/* Drops the connection (the next ensure reconnects at once). */
void store_db_reset(store_db *db);

#endif
