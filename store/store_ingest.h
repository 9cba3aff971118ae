/* store_ingest: durable ingest with group commit. SUBMIT calls queue here; writer
 * threads each take every submit waiting at that moment (up to the batch maximum, or
 * one when group commit is off), commit them in one transaction and only then answer
 * each call. A failed or timed-out transaction answers TR_ERR_UNAVAILABLE with nothing
 * written, so a client retry is safe. */
#ifndef STORE_INGEST_H
#define STORE_INGEST_H

#include "store_call.h"
#include "store_config.h"
#include "store_db.h"
#include "store_dispatch.h"
#include "store_events.h"

typedef struct store_ingest store_ingest;

/* Starts the writer threads. cfg, events and dispatch must outlive the ingest. */
int store_ingest_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		       store_ingest **out);

/* Queues a SUBMIT call; its done() runs later on a writer thread (or at once, with
 * TR_ERR_UNAVAILABLE, when the ingest is stopping). */
void store_ingest_submit(store_ingest *in, store_call *call);

/* Queues n SUBMIT calls at once (a gateway's SUBMIT_BATCH, so that one writer usually
 * takes them together); each call's done() runs as for store_ingest_submit. */
void store_ingest_submit_all(store_ingest *in, store_call *const *calls, size_t n);

/* Queues an ALERTS call for the alerts writer (store_alerts.h), same contract. */
void store_ingest_alerts(store_ingest *in, store_call *call);

/* Commits what is queued, stops the writers and frees the ingest. */
void store_ingest_stop(store_ingest *in);

/* Commits the n submit calls in one transaction on db and sets each call's reply (does
 * not call done). Exposed for tests. */
void store_ingest_run(store_ingest *in, store_db *db, store_call **calls, size_t n);

#endif
