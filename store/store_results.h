/* store_results: the results threads. They pull RESULT and HEARTBEAT messages from the
 * enrichers, record heartbeats at once (credits for the dispatcher), and apply results
 * in group-committed transactions, each only if the incident is processing, the
 * attempt matches and the result echoes the lease token, from the enricher the attempt
 * is bound to (late, duplicate or forged results are logged and ignored). Results wait
 * in memory while the database is unavailable. */
#ifndef STORE_RESULTS_H
#define STORE_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"
#include "store_config.h"
#include "store_dispatch.h"
#include "store_enrichers.h"
#include "store_events.h"

typedef struct store_results store_results;

/* Listens on cfg->results_url and starts the thread; the pointers must outlive it. */
int store_results_start(const store_config *cfg, store_events *events,
			store_enrichers *enrichers, store_dispatch *dispatch,
			store_results **out);
void store_results_stop(store_results *r);

/* Checks a result from an enricher (never trusted): ids, outcome, and for a triage the
 * enums and bounds. Returns true, or false with a one-line detail. */
bool store_result_check(const proto_result *res, char *detail, size_t detlen);

#endif
