/* gw_http: the gateway's HTTP server (libmicrohttpd, a pool of polling threads). Reads
 * and checks each request, answers health and static files itself, parks requests
 * for the store (suspended connections, no thread blocked) and streams /events. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_auth.h"
#include "gw_config.h"
#include "gw_sse.h"
#include "gw_store.h"

typedef struct gw_http gw_http;

/* What the server uses; all owned by the caller and alive until gw_http_stop. */
typedef struct {
	const gw_config *cfg;
	gw_auth *auth;
	gw_store *store;
	gw_sse *sse;
	const char *web_root; /* resolved absolute path of the web directory */
	const char *gateway_id; /* this gateway's name in /metrics (copied at start) */
} gw_http_deps;

/* Starts listening. On failure logs why. Free with gw_http_stop. */
int gw_http_start(const gw_http_deps *deps, gw_http **out);

/* The port actually bound (TRIAGE_HTTP_PORT may be 0). */
uint16_t gw_http_port(const gw_http *h);

/* Stops taking connections: a new one is closed at once (existing ones keep being
 * served). */
void gw_http_quiesce(gw_http *h);

/* Waits up to timeout_ms until no request is parked waiting for the store (after
 * gw_store_shutdown every such request is resumed with 503). */
bool gw_http_wait_unparked(gw_http *h, int timeout_ms);

/* Stops the daemon (every connection must have been resumed) and frees h. */
void gw_http_stop(gw_http *h);

#endif
