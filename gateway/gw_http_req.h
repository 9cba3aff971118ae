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

#include "gw_conn.h"
#include "gw_http.h"
#include "gw_limit.h"
#include "gw_metrics.h"
#include "gw_routes.h"
#include "tr_buf.h"

/* No inline script, no plugins, no framing: the dashboard loads only its own files. */
#define GW_CSP                                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "     \
	"form-action 'self'"

struct gw_http {
	struct MHD_Daemon *daemon;
	gw_http_deps deps;
	atomic_long parked;          /* requests suspended waiting for the store */
	atomic_bool closing;         /* gw_http_quiesce: new connections are refused */
	_Atomic int64_t last_warn_ms; /* last "answering 503" log line */
	_Atomic int64_t last_limit_warn_ms; /* last "used its burst" log line */
	uint16_t port;
	/* The front door's limits (gw_gate.c); each NULL-safe only where noted. */
	gw_limit *per_key;    /* requests per key */
	gw_limit *per_addr;   /* requests per client address */
	gw_limit *auth_fails; /* missing/unknown keys per client address */
	gw_limit *inflight;   /* store requests in flight per client address */
	gw_conns *conns;      /* phases and deadlines of connections */
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
	size_t max_body; /* this route's limit (gw_route_max_body) */
	tr_buf body;     /* what the route reads, capped at the declared or allowed size */
	size_t received; /* body bytes received, kept or not */
	uint8_t tenant[GW_SHA256_LEN];
	gw_principal who;     /* the key's role and id, once known */
	bool auth_pending;    /* the key must be looked up in the store before dispatch */
	bool looking_up;      /* the parked store call is that lookup */
	bool holds_slot;      /* counts against its address's store requests in flight */
	char addr[48];        /* the client's address, for limits and logs */
	char new_key[GW_KEY_TEXT_LEN + 1]; /* POST /keys: shown once in the answer */
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

/* gw_http.c: answers a request whose header and body are in (locally, or through the
 * store; a pending key lookup goes first). */
enum MHD_Result gw_dispatch(gw_req *r);

/* gw_forward.c: builds the route's store request and sends it (400 on invalid input). */
enum MHD_Result gw_start_store(gw_req *r);
/* Sends msg to the store and parks the request until the answer (or answers 429/503 at
 * once when the address's share or the pool is used up). */
enum MHD_Result gw_send_to_store(gw_req *r, const proto_msg *msg, long timeout_ms);
/* The store answered (or not): the HTTP answer. */
enum MHD_Result gw_finish_store(gw_req *r);
/* Gives back the request's share of its address's store slots (idempotent). */
void gw_release_slot(gw_req *r);

/* gw_gate.c: the checks at the door, in the order of docs/API.md. Each returns the
 * MHD result and sets *done when it answered the request; otherwise the request goes
 * on. */
/* Framing: Content-Length with Transfer-Encoding, or Content-Lengths that disagree,
 * are 400 (a request smuggling risk behind a proxy). */
enum MHD_Result gw_gate_framing(gw_req *r, bool *done);
/* Keys, roles and rates for a route that needs a key: 429 (address throttled after
 * failed keys, or over its rate), 401, 403, or auth_pending for a store lookup. */
enum MHD_Result gw_gate_auth(gw_req *r, bool *done);
/* Starts the store lookup of a pending key (the request parks). */
enum MHD_Result gw_gate_lookup_start(gw_req *r);
/* The lookup answered: 401/403/429/503, or (not done) the request may be dispatched. */
enum MHD_Result gw_gate_lookup_finish(gw_req *r, bool *done);

#endif
