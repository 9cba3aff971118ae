/* gw_http_req: the state of one HTTP request inside the gateway and the helpers that
 * answer it (JSON bodies, errors, the security headers every response carries).
 * Internal to gw_http.c and gw_reply.c. */
#ifndef GW_HTTP_REQ_H
#define GW_HTTP_REQ_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_routes.h"

/* No inline script, no plugins, no framing: the dashboard loads only its own files. */
#define GW_CSP                                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "     \
	"form-action 'self'"

struct gw_http {
	struct MHD_Daemon *daemon;
	gw_http_deps deps;
	atomic_long parked;          /* requests suspended waiting for the store */
	_Atomic int64_t last_warn_ms; /* last "answering 503" log line */
	uint16_t port;
	gw_metrics *metrics;
	char id[300]; /* this gateway's name in /metrics */
};

typedef enum { GW_PH_BODY, GW_PH_WAIT, GW_PH_DONE } gw_phase;

typedef struct {
	gw_http *h;
	struct MHD_Connection *conn;
	gw_match match;
	unsigned method;
	gw_phase phase;
	bool keep_body; /* the route reads the body; others count and drop it */
	bool too_large; /* a chunked body passed the limit */
	char *body;
	size_t len, cap;
	uint8_t tenant[GW_SHA256_LEN];
	pthread_mutex_t mu;
	bool parked, reply_ready;
	gw_call *call;
	int64_t start_us;
	int status;
	char path[96]; /* for the debug access log */
} gw_req;

/* Queues resp with the common headers (api: JSON, no-store), extra name/value pairs
 * (NULL-terminated) and Retry-After on 503; drops the caller's reference. Marks the
 * request answered. */
enum MHD_Result gw_queue(gw_req *r, int status, struct MHD_Response *resp, bool api,
			 const char *const *extra);

/* Answers with json (malloc'd; taken). */
enum MHD_Result gw_respond_json(gw_req *r, int status, char *json, const char *const *extra);

/* {"error": error, "detail": detail} as a malloc'd string (a detail that is not valid
 * UTF-8 is replaced, never echoed). */
char *gw_error_json(const char *error, const char *detail);

enum MHD_Result gw_respond_error(gw_req *r, int status, const char *error, const char *detail,
				 const char *const *extra);

/* Answers with a constant JSON text. */
enum MHD_Result gw_respond_text(gw_req *r, int status, const char *json);

#endif
