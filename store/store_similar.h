/* store_similar: the most similar earlier incidents of an incident, found by PostgreSQL
 * (full-text search over the search_tsv column of sql/011 with its GIN index): for
 * GET /incidents/{id}/similar, and attached to triage jobs at dispatch (resolved ones
 * only, trimmed to the proto bounds) so the enrichers stay stateless. */
#ifndef STORE_SIMILAR_H
#define STORE_SIMILAR_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store_db.h"
#include "store_query.h"

#define STORE_SIMILAR_TOP 5 /* entries returned per incident (PROTO_SIMILAR_MAX for jobs) */

/* PROTO_OP_SIMILAR: {"items": [{id, score, title, severity, category, state, status,
 * created_at, resolved_at, resolution_note, triage_feedback}]}, best first; 404 if the
 * incident does not exist. */
int store_similar_run(store_reader *r, store_call *call);

/* The similar resolved incidents of a batch of claimed jobs. Owns the query's result
 * and the trimmed copies the jobs point into: valid until store_similar_free. */
typedef struct store_similar_set store_similar_set;

/* Looks up the similar remembered incidents (resolved, or labelled by a responder) of
 * ids[0..n-1] in one statement on db. NULL
 * when the query failed or memory ran out (the jobs then go without: triage never
 * waits for memory); the failure is logged. */
store_similar_set *store_similar_for_jobs(store_db *db, const int64_t *ids, size_t n);

/* Points *out and *nout at the entries for incident id (best first, within
 * PROTO_SIMILAR_MAX and PROTO_SIMILAR_BYTES), or at nothing. set may be NULL. */
void store_similar_of(const store_similar_set *set, int64_t id, proto_similar **out,
		      size_t *nout);

void store_similar_free(store_similar_set *set);

#endif
