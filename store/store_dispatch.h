/* store_dispatch: the dispatcher/sweeper thread. It pushes triage jobs to enrichers,
 * only as many as they report free slots (credits from heartbeats), claiming rows with
 * FOR UPDATE SKIP LOCKED; and every sweep interval it returns expired leases to
 * submitted (with backoff) or fails them after the maximum attempts. It sleeps on a
 * condition variable when there is no work or no credit: it never spins.
 *
 * The database is the queue: every pass considers every due 'submitted' row, so a row
 * that was never picked up (no credit, another store's wake-up, a lost wake-up) is
 * dispatched on the next pass with credit; nothing needs re-publishing. Rows waiting
 * longer than TRIAGE_STALE_SUBMITTED_MS are reported in the log by the sweeper.
 * A job the PUSH socket refuses (no enricher within its send timeout) goes back to
 * submitted at once, its attempt given back. PUSH cannot address an enricher: the
 * store learns from the ready messages who took each job (store_enrichers.h), and
 * every sweep it reclaims the rows it dispatched that no live enricher holds (the
 * lease is the last resort). */
#ifndef STORE_DISPATCH_H
#define STORE_DISPATCH_H

#include "store_config.h"
#include "store_enrichers.h"
#include "store_events.h"

typedef struct store_dispatch store_dispatch;

/* Listens on cfg->jobs_url and starts the thread. cfg, events and enrichers must outlive
 * it. */
int store_dispatch_start(const store_config *cfg, store_events *events,
			 store_enrichers *enrichers, store_dispatch **out);

/* Wakes the dispatcher: rows were committed or credits appeared. Cheap; NULL is a
 * no-op. Thread-safe. */
void store_dispatch_wake(store_dispatch *d);

/* Stops the thread, closes the socket and frees. */
void store_dispatch_stop(store_dispatch *d);

/* Backoff before retry number attempt (1-based): base * 2^(attempt-1), capped. */
long store_backoff_ms(long attempt, long base_ms, long cap_ms);

/* The backoffs for attempts 1..max_attempts as a PostgreSQL array literal ("{1000,2000}",
 * index = the current triage's attempt count), written into out. */
void store_backoff_array(const store_config *cfg, char *out, size_t outlen);

#endif
