/* gw_sse: live events for browsers (GET /events). One thread reads the store's PUB
 * socket and fans each event out to every open stream's bounded queue; each stream is
 * an MHD response whose reader parks (suspends) its connection while there is nothing
 * to send. Frames are those of docs/API.md: hello, incident (id <epoch>-<seq>), resync
 * (reconnect, gap, epoch change, overflow; at most one a second per stream) and a
 * heartbeat comment. hello is sent only once the gateway is subscribed. */
#ifndef GW_SSE_H
#define GW_SSE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

typedef struct gw_sse gw_sse;

typedef struct {
	const char *events_url;
	const char *gateway_id;
	long heartbeat_ms;
	long max_streams;
	long queue_len;
} gw_sse_opts;

/* Dials the events socket and starts the reader thread. Free with gw_sse_stop(). */
int gw_sse_start(const gw_sse_opts *opts, gw_sse **out);

/* Creates the response for a new stream on conn (queue it with status 200 and destroy
 * your reference). resync: the client sent Last-Event-ID. Returns TR_OK, or
 * TR_ERR_UNAVAILABLE at the stream limit or while shutting down (answer 503). */
int gw_sse_open(gw_sse *h, struct MHD_Connection *conn, bool resync, struct MHD_Response **out);

/* Ends every stream (parked ones are resumed and finish) and refuses new ones. Waits
 * up to timeout_ms until no stream's connection is parked, so the HTTP daemon may stop;
 * returns false if some still were. */
bool gw_sse_shutdown(gw_sse *h, int timeout_ms);

/* Stops the thread and frees the hub; after the HTTP daemon has stopped. */
void gw_sse_stop(gw_sse *h);

/* Whether the store's events reach this gateway: a PROTO_EVENTS_SYNC or an event has
 * arrived since the link came up. /readyz says not ready until then. */
bool gw_sse_subscribed(gw_sse *h);

/* Open streams now (for tests and logs). */
size_t gw_sse_count(gw_sse *h);

/* Frame text, malloc'd and NUL-terminated (NULL on allocation failure). Exposed for
 * unit tests. The incident frame's data is the event as compact JSON on one line. */
char *gw_sse_frame_hello(const char *gateway_id);
char *gw_sse_frame_incident(const proto_event *ev);
char *gw_sse_frame_resync(const char *reason);
#define GW_SSE_HEARTBEAT ": heartbeat\n\n"

/* Formats epoch milliseconds as 2026-11-25T13:00:00.123Z into out (32 bytes). */
void gw_iso8601_ms(int64_t ms, char out[32]);

#endif
