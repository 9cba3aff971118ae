/* gw_conn: sheds slow clients. Tracks every HTTP connection with the phase it is in
 * and since when; a connection that has not sent a whole request header within
 * header_ms, or its body within body_ms, is shut down, and when more than high_water
 * connections are open the oldest ones still waiting for a header are shut down at
 * once, so slow connections (slowloris) never fill the connection limit. Connections
 * that are being answered, wait for the store or stream events are never shed here.
 * Shedding is shutdown(2) on the socket: libmicrohttpd sees the end of the stream and
 * closes the connection on its own thread. */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <microhttpd.h>

typedef enum {
	GW_CONN_HEADERS, /* waiting for a request header (new, or idle between requests) */
	GW_CONN_BODY,	 /* header in, body being read */
	GW_CONN_BUSY,	 /* being answered: never shed */
} gw_conn_phase;

typedef struct gw_conns gw_conns;

/* Starts the reaper thread. Free with gw_conns_stop after the daemon stopped. */
int gw_conns_start(long header_ms, long body_ms, long high_water, gw_conns **out);
void gw_conns_stop(gw_conns *cs);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the gw_conns. */
void gw_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		     enum MHD_ConnectionNotificationCode code);

/* Moves conn's connection to phase (from the connection's own MHD thread). */
void gw_conns_phase(gw_conns *cs, struct MHD_Connection *conn, gw_conn_phase phase);

/* Connections shed so far (for tests' log lines and figures). */
long gw_conns_shed_count(gw_conns *cs);

#endif
