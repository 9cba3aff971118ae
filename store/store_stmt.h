/* store_stmt: the statements the store prepares on each connection, each under a short
 * constant name (PostgreSQL keys a prepared statement on the first 63 bytes of its name).
 * The SQL stays beside the module that runs it; store_stmt.c lists them all, so a test
 * checks the names are unique and short. */
#ifndef STORE_STMT_H
#define STORE_STMT_H

#include <stddef.h>

#define STORE_STMT_NAME_MAX 31 /* bytes; well under PostgreSQL's 63 */
#define STORE_STMT_MAX 32      /* statements in the table, at most */

typedef struct {
	const char *name; /* short, unique, [a-z_] */
	const char *sql;
} store_stmt;

/* Defined by the module that runs each. */
extern const store_stmt store_stmt_claim;    /* store_dispatch.c */
extern const store_stmt store_stmt_reclaim;  /* store_dispatch.c */
extern const store_stmt store_stmt_confirm;  /* store_ingest_tx.c */
extern const store_stmt store_stmt_insert;   /* store_ingest_tx.c */
extern const store_stmt store_stmt_known;    /* store_ingest_tx.c */
extern const store_stmt store_stmt_triaged;  /* store_results.c */
extern const store_stmt store_stmt_failed;   /* store_results.c */
extern const store_stmt store_stmt_retry;    /* store_results.c */
extern const store_stmt store_stmt_released; /* store_results.c */
extern const store_stmt store_stmt_retention; /* store_retention.c */
extern const store_stmt store_stmt_similar_any;  /* store_similar.c */
extern const store_stmt store_stmt_similar_jobs; /* store_similar.c */
extern const store_stmt store_stmt_alerts_claim;   /* store_alerts_tx.c */
extern const store_stmt store_stmt_alerts_replies; /* store_alerts_tx.c */
extern const store_stmt store_stmt_alerts_apply;   /* store_alerts_tx.c */
extern const store_stmt store_stmt_alerts_record;  /* store_alerts_tx.c */
extern const store_stmt store_stmt_nt_claim;   /* store_stmt_nt.c: notifier/nt_outbox.c */
extern const store_stmt store_stmt_nt_sent;    /* store_stmt_nt.c */
extern const store_stmt store_stmt_nt_retry;   /* store_stmt_nt.c */
extern const store_stmt store_stmt_nt_fail;    /* store_stmt_nt.c */
extern const store_stmt store_stmt_nt_cancel;  /* store_stmt_nt.c */
extern const store_stmt store_stmt_nt_requeue; /* store_stmt_nt.c */
extern const store_stmt store_stmt_nt_purge;   /* store_stmt_nt.c */

/* Every statement that may be prepared, in a fixed order. */
extern const store_stmt *const store_stmts[];
extern const size_t store_nstmts;

/* st's position in store_stmts, or -1 when it is not listed (never prepared). */
int store_stmt_index(const store_stmt *st);

#endif
