/* store_enrichers: what the store knows about the enrichers from their heartbeats:
 * slots, busy, backend, last seen; and the credit scheme that keeps dispatch within
 * their free slots. Thread-safe (one mutex): the results thread records heartbeats,
 * the dispatcher takes credits, readers take snapshots for /stats.
 *
 * Credits: an enricher's free slots are slots - busy from its last heartbeat, minus
 * the jobs attributed to it since then. PUSH cannot address one enricher, so jobs are
 * attributed to the enrichers with the most free slots (as nng's load balancing
 * roughly does); a heartbeat resets the enricher's count, so a misattribution lasts
 * one heartbeat at most. Enrichers silent for longer than the expiry are forgotten. */
#ifndef STORE_ENRICHERS_H
#define STORE_ENRICHERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ENRICHERS_MAX 256 /* entries kept; heartbeats of more are ignored */

typedef struct store_enrichers store_enrichers;

store_enrichers *store_enrichers_new(long expire_ms);
void store_enrichers_free(store_enrichers *e);

/* Records a heartbeat at now_ms (monotonic). Negative or absurd counts are clamped.
 * Returns true if the enricher now has free slots (the dispatcher may want waking). */
bool store_enrichers_heartbeat(store_enrichers *e, const char *id, const char *backend,
			       int32_t slots, int32_t busy, int64_t now_ms);

/* Free credits now, over all live enrichers. */
long store_enrichers_credits(store_enrichers *e, int64_t now_ms);

/* Attributes n dispatched jobs (n <= the credits just read). */
void store_enrichers_charge(store_enrichers *e, long n, int64_t now_ms);

/* A snapshot for /stats: live enrichers, their slots and busy counts, and their
 * backends as a PostgreSQL array literal written into backends (at most blen bytes). */
void store_enrichers_snapshot(store_enrichers *e, int64_t now_ms, long *active, long *slots,
			      long *busy, char *backends, size_t blen);

#endif
