/* store_alerts: deliveries from alerting tools (PROTO_ALERTS: Alertmanager, Grafana,
 * PagerDuty-style events), committed with group commit like submits: one writer thread
 * takes every delivery waiting, coalesces their events per fingerprint and applies
 * them in one transaction (sql/008_sources.sql, triage_alerts_apply), then answers each.
 * A delivery's events are committed all together or not at all. */
#ifndef STORE_ALERTS_H
#define STORE_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "store_call.h"
#include "store_config.h"
#include "store_db.h"
#include "store_dispatch.h"
#include "store_events.h"

typedef struct store_alerts store_alerts;

/* Starts the writer. cfg, events and dispatch must outlive it. */
int store_alerts_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		       store_alerts **out);

/* Queues an ALERTS call; done() runs later on the writer (or at once with
 * TR_ERR_UNAVAILABLE when stopping). */
void store_alerts_submit(store_alerts *a, store_call *call);

/* Commits what is queued, stops the writer and frees. NULL is a no-op. */
void store_alerts_stop(store_alerts *a);

/* store_alerts_tx.c: commits the n calls in one transaction on db (falling back to one
 * transaction per call when the database refuses the batch) and sets each reply (does
 * not call done); publishes the events of what changed. */
void store_alerts_run(store_db *db, store_events *events, store_dispatch *dispatch,
		      store_call **calls, size_t n);

/* Deletes delivery keys past their replay window. */
int store_alerts_expire(store_db *db);

#endif
