/* enr_held: the jobs this enricher holds, for its ready messages (proto.h, heartbeat
 * `held`): jobs taken off the socket and not finished, and finished ones whose result
 * is kept (encoded) until ENR_HELD_KEEP_MS passed, so a result pushed into a store that
 * died is sent again to its replacement. Thread-safe (one mutex): workers take and
 * finish jobs, the main thread lists and resends.
 *
 * Ownership: enr_held_done takes the encoded result (malloc'd) in every case. */
#ifndef ENR_HELD_H
#define ENR_HELD_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define ENR_HELD_KEEP_MS 30000 /* how long a finished job's result is kept */
#define ENR_HELD_KEEP_MAX 64   /* finished jobs kept at most (the oldest go first) */

typedef struct enr_held enr_held;

/* running_max: the most jobs running at once (the slots). NULL when out of memory. */
enr_held *enr_held_new(size_t running_max);
void enr_held_free(enr_held *h);

/* A job was taken off the socket (counted in enr_held_received). */
void enr_held_take(enr_held *h, int64_t incident_id, int32_t attempt);

/* The job's result was encoded (buf, len: taken over) at now_mono_ms; kept for resends. */
void enr_held_done(enr_held *h, int64_t incident_id, int32_t attempt, void *buf, size_t len,
		   int64_t now_mono_ms);

/* The job is no longer held (released unattempted). */
void enr_held_drop(enr_held *h, int64_t incident_id, int32_t attempt);

/* Writes "id:attempt" (running) or "id:attempt:done" for every job held at now_mono_ms
 * into items (at most max; forgets finished ones older than the keep time) and points
 * ptrs at them. Returns the count. */
size_t enr_held_list(enr_held *h, int64_t now_mono_ms, char (*items)[PROTO_HELD_ITEM_MAX + 1],
		     char **ptrs, size_t max);

/* Jobs taken so far. */
int64_t enr_held_received(enr_held *h);

/* Sends every result kept since before_mono_ms or earlier again on s (each send waits at
 * most the socket's send timeout; after one fails, the rest are not tried); returns how
 * many went. Results finished later went out on a live pipe. Call from one thread at a
 * time. */
int enr_held_resend(enr_held *h, nng_socket s, int64_t before_mono_ms);

#endif
