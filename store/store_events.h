/* store_events: the PUB socket on which every change to an incident is announced
 * (PROTO_EVENT), with this process's epoch and a sequence number that grows by one per
 * event, so subscribers can see gaps; and PROTO_EVENTS_SYNC (the last seq) every
 * PROTO_EVENTS_SYNC_MS from a thread of its own. Thread-safe: any thread may publish. */
#ifndef STORE_EVENTS_H
#define STORE_EVENTS_H

#include <libpq-fe.h>
#include <stdint.h>

typedef struct store_events store_events;

/* Listens on url. On success *out is owned by the caller (store_events_close). */
int store_events_open(const char *url, store_events **out);
void store_events_close(store_events *ev);

/* Publishes one event; never blocks (PUB drops when a subscriber is slow). NULL ev is a
 * no-op, for tests. Empty or NULL severity/category mean "none". */
void store_events_publish(store_events *ev, int64_t incident_id, int64_t version,
			  const char *kind, const char *status, const char *state,
			  const char *severity, const char *category);

/* The SQL columns every change statement returns for its event, in this order. */
#define STORE_EVENT_COLS                                                                   \
	"id, version, status, state, coalesce(severity_override, severity, ''), "         \
	"coalesce(category_override, category, '')"
#define STORE_EVENT_NCOLS 6

/* Publishes the event of row r of res, whose columns from col on are STORE_EVENT_COLS. */
void store_events_publish_row(store_events *ev, const PGresult *res, int r, int col,
			      const char *kind);

#endif
