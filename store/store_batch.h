/* store_batch: the pure part of group commit: checking each submit, finding the
 * duplicates inside one batch (a REQ resend, a repeated idempotency key, a repeated
 * dedup key: one statement cannot touch a row twice), and building the array
 * parameters of the multi-row INSERT. No database, no threads: unit-tested. */
#ifndef STORE_BATCH_H
#define STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"
#include "store_json.h"

typedef enum {
	STORE_SLOT_INSERT = 0,   /* a leader: inserted (or resolved if it conflicts) */
	STORE_SLOT_SAME_REQUEST, /* same request_id as its leader: gets the leader's reply */
	STORE_SLOT_SAME_KEY,     /* same idempotency_key as its leader: its incident */
	STORE_SLOT_OCCURRENCE,   /* same dedup_key as its leader: an occurrence of it */
	STORE_SLOT_INVALID,      /* fails the checks: answered at once, never sent to SQL */
} store_slot_kind;

typedef struct {
	store_slot_kind kind;
	int leader;          /* INSERT/INVALID: itself; SAME_REQUEST: the first earlier submit
			      * with that request id (any kind); SAME_KEY, OCCURRENCE: an
			      * earlier INSERT slot */
	char detail[160];    /* INVALID: what is wrong */
} store_slot;

/* Checks one submit beyond what the decoder checks: UTF-8, title length in characters,
 * non-empty ids and keys. Returns true, or false with a one-line detail. */
bool store_submit_check(const proto_submit *s, char *detail, size_t detlen);

/* Fills slots[0..n) for the submits: each one's kind and leader (always a lower
 * index for a follower). */
void store_batch_plan(const proto_submit *const *subs, size_t n, store_slot *slots);

/* The INSERT's ten array parameters, for the INSERT slots in order: request_id,
 * idempotency_key, title, description, source, service, dedup_key, labels (JSON),
 * retry_key, deadline_ms (NULL when 0). */
#define STORE_BATCH_NCOLS 10
typedef struct {
	store_buf col[STORE_BATCH_NCOLS];
	size_t rows;
} store_batch_arrays;

/* Builds the arrays for the INSERT slots. Returns false when out of memory or over the
 * cap; free with store_batch_arrays_free in every case. */
bool store_batch_arrays_build(const proto_submit *const *subs, size_t n,
			      const store_slot *slots, store_batch_arrays *out);
void store_batch_arrays_free(store_batch_arrays *a);

/* The reply body of a freshly inserted incident, in the shape triage_incident_json()
 * gives (sql/002_store.sql), built here because it is on the hot path of ingest:
 * status submitted, attempt 0, version 1, no triage, created_ms for all three
 * timestamps. Malloc'd; NULL when out of memory. */
char *store_created_json(const proto_submit *s, int64_t id, int64_t created_ms);

/* Formats a wall-clock time as the API does: 2026-11-25T13:00:00.123Z. */
void store_format_ts(int64_t ms, char out[48]);

/* Appends the labels as a JSON object ({} when none). */
bool store_labels_json(store_buf *b, const proto_kv *labels, size_t nlabels);

#endif
