/* store_rep: the REP socket the gateways talk to, served by a pool of nng contexts so
 * many requests are in flight at once. Each context is a small state machine (receive,
 * wait for the worker, send), as in nng's demo/async/server.c. SUBMITs go to the
 * ingest, QUERYs to the readers. A malformed, oversized, unknown or wrong-version
 * message is logged and dropped (no reply) and the context receives again. */
#ifndef STORE_REP_H
#define STORE_REP_H

#include "store_ingest.h"
#include "store_query.h"

typedef struct store_rep store_rep;

/* Listens on url with ncontexts contexts. ingest and query must outlive the REP
 * server's use of them (see store_rep_close). */
int store_rep_start(const char *url, long ncontexts, store_ingest *ingest, store_query *query,
		    store_rep **out);

/* Stops handing requests to the ingest and the readers: from now on each request is
 * answered TR_ERR_UNAVAILABLE at once. Call before stopping them. */
void store_rep_quiesce(store_rep *rep);

/* Closes the socket and frees the contexts. Call after the ingest and the query pool
 * have stopped (every call they held has been answered). */
void store_rep_close(store_rep *rep);

#endif
