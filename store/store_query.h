/* store_query: QUERY calls (reads, responder actions, stats, settings), answered by a
 * small pool of reader threads, each with its own PGconn, so a slow query never blocks
 * the REP contexts or the ingest writers. */
#ifndef STORE_QUERY_H
#define STORE_QUERY_H

#include "store_call.h"
#include "store_config.h"
#include "store_db.h"
#include "store_dispatch.h"
#include "store_enrichers.h"
#include "store_events.h"
#include "tr_prom.h"

/* What one reader thread works with; the pointers are shared and outlive it. */
typedef struct {
	const store_config *cfg;
	store_events *events;
	store_dispatch *dispatch;
	store_enrichers *enrichers;
	store_db *db; /* this thread's own */
} store_reader;

typedef struct store_query store_query;

int store_query_start(const store_config *cfg, store_events *events, store_dispatch *dispatch,
		      store_enrichers *enrichers, store_query **out);

/* Queues a QUERY call; done() runs later on a reader thread (or at once when stopping). */
void store_query_submit(store_query *q, store_call *call);

/* Answers what is queued, stops the readers and frees. */
void store_query_stop(store_query *q);

/* Answers one call on the reader's connection (sets the reply, does not call done). */
void store_query_run(store_reader *r, store_call *call);

/* store_actions.c: RETRIAGE, ACKNOWLEDGE, RESOLVE, OVERRIDE; STATS; SETTINGS_GET/PUT. */
int store_action_run(store_reader *r, store_call *call);
int store_stats_run(store_reader *r, store_call *call);
int store_settings_run(store_reader *r, store_call *call);
/* store_keys.c: KEY_LOOKUP, KEY_CREATE, KEY_LIST, KEY_REVOKE. */
int store_keys_run(store_reader *r, store_call *call);

/* store_integrations.c: INTEGRATIONS (the last event received per source). */
int store_integrations_run(store_reader *r, store_call *call);
/* store_channels.c: CHANNEL_LIST/CREATE/UPDATE/DELETE/TEST (notification channels). */
int store_channel_run(store_reader *r, store_call *call);
/* store_outbox.c: NOTIFICATIONS (an incident's deliveries); the outbox's gauges for
 * METRICS (a tr_err from the database, nothing written then). */
int store_outbox_list(store_reader *r, store_call *call);
int store_outbox_metrics(store_reader *r, tr_buf *b);

/* Maps a failed database call to the reply (503 for unavailable, 500 otherwise). */
int store_query_db_fail(store_reader *r, store_call *call, int rc);

#endif
