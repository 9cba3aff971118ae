/* store_enrichers: what the store knows about the enrichers from their ready messages
 * (heartbeats): slots, busy, the jobs each holds; the jobs in transit; and the exact
 * credits that follow. Thread-safe (one mutex): the results thread records heartbeats
 * and checks results, the dispatcher takes credits and records what it sent, readers
 * take snapshots for /stats.
 *
 * Exact credits. PUSH chooses the pipe, so the store cannot say to whom a job goes; it
 * learns it: every job sent is "in transit" until an enricher lists it as held (its
 * ready message names every job it holds, and is sent each time it takes one). Credits
 * are the enrichers' free slots minus the jobs in transit, so no more jobs are ever in
 * the sockets than there are free slots. A job listed by an enricher is bound to it:
 * another enricher's result for that attempt is refused.
 *
 * Credit is earned, not claimed: an enricher counts for at most one more slot than the
 * most jobs it has been seen holding that this store sent it (running, or finished with
 * the result kept: a fast backend finishes each job before the next arrives, and must
 * still earn every slot), and enrichers that have
 * never held one count for one credit in total, and only while no enricher has; so a
 * forged heartbeat with huge slots adds nothing to a working pool, and at most one job
 * at a time to a new one (that job comes back at its pickup deadline).
 *
 * Loss. A job in transit past its pickup deadline, or held by an enricher that went
 * silent past the expiry or restarted (a new epoch), is no longer "kept": the
 * dispatcher's reconcile (store_dispatch.c) returns every processing row this store
 * dispatched that no live enricher keeps, at once, without waiting for its lease.
 * A result received and not yet applied keeps its job too: an enricher that released a
 * job, or finished it and stopped, no longer lists it, and its result must not find the
 * row already taken back (a release would then cost an attempt). */
#ifndef STORE_ENRICHERS_H
#define STORE_ENRICHERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store_json.h"

#define STORE_ENRICHERS_MAX 256 /* entries kept; heartbeats of more are ignored */
#define STORE_TRANSIT_MAX 65536 /* jobs in transit tracked; no credit beyond */
#define STORE_PENDING_MAX 8192  /* results awaiting the applier tracked as kept */

typedef struct store_enrichers store_enrichers;

store_enrichers *store_enrichers_new(long expire_ms);
void store_enrichers_free(store_enrichers *e);

/* Records a ready message at now_ms (monotonic). Negative or absurd counts are clamped;
 * held entries that do not parse as "id:attempt" are ignored. Returns true if the
 * dispatcher should look again (free slots, or jobs of a restarted enricher lost). */
bool store_enrichers_heartbeat(store_enrichers *e, const proto_heartbeat *h, int64_t now_ms);

/* Free credits now: earned free slots of live enrichers minus jobs in transit. */
long store_enrichers_credits(store_enrichers *e, int64_t now_ms);

/* The same, and in *capacity the credits there would be with nothing running or in
 * transit (every earned slot). */
long store_enrichers_credits_of(store_enrichers *e, int64_t now_ms, long *capacity);

/* A job was pushed (in transit until held; lost after pickup_mono_ms) / was refused by
 * the socket (no longer in transit). */
void store_enrichers_sent(store_enrichers *e, int64_t incident_id, int32_t attempt,
			  int64_t pickup_mono_ms);
void store_enrichers_unsent(store_enrichers *e, int64_t incident_id, int32_t attempt);

/* False if that attempt is bound to another live enricher than enricher_id. */
bool store_enrichers_result_ok(store_enrichers *e, int64_t incident_id, int32_t attempt,
			       const char *enricher_id);

/* A result for that attempt was received and waits for the applier (call before it is
 * queued) / was applied, ignored or dropped (once per queued call). Beyond
 * STORE_PENDING_MAX waiting, the excess is not tracked: settling an attempt not tracked
 * changes nothing. */
void store_enrichers_result_queued(store_enrichers *e, int64_t incident_id, int32_t attempt);
void store_enrichers_result_settled(store_enrichers *e, int64_t incident_id, int32_t attempt);

/* The jobs kept now (held by a live enricher, in transit before their pickup deadline,
 * or with a result waiting for the applier) as two PostgreSQL array literals of the
 * same length (ids, attempts). */
void store_enrichers_kept(store_enrichers *e, int64_t now_ms, store_buf *ids,
			  store_buf *attempts);

/* A snapshot for /stats: live enrichers, their slots and busy counts, and their
 * backends as a PostgreSQL array literal written into backends (at most blen bytes). */
void store_enrichers_snapshot(store_enrichers *e, int64_t now_ms, long *active, long *slots,
			      long *busy, char *backends, size_t blen);

/* Jobs in transit now (for logs and tests). */
long store_enrichers_in_transit(store_enrichers *e, int64_t now_ms);

#endif
