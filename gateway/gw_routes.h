/* gw_routes: the HTTP contract of docs/API.md as data and pure functions: which path
 * is which route, its methods and rules (key, JSON body), the store request each
 * route sends, and the HTTP status for each store answer. No I/O: gw_http drives it. */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_auth.h"
#include "gw_integrations.h"
#include "gw_channels.h"
#include "gw_sha256.h"
#include "gw_store.h"
#include "gw_validate.h"
#include "proto.h"

typedef enum {
	GW_R_NONE = 0,
	GW_R_INCIDENTS, /* /incidents */
	GW_R_INCIDENT,	/* /incidents/{id} */
	GW_R_RETRIAGE,	/* /incidents/{id}/retriage */
	GW_R_ACK,	/* /incidents/{id}/acknowledge */
	GW_R_RESOLVE,	/* /incidents/{id}/resolve */
	GW_R_STATS,
	GW_R_SETTINGS,
	GW_R_EVENTS,
	GW_R_HEALTHZ,
	GW_R_READYZ,
	GW_R_STATIC, /* a file of web/ */
	GW_R_SIMILAR,  /* /incidents/{id}/similar */
	GW_R_FEEDBACK, /* /incidents/{id}/feedback */
	GW_R_KEYS,   /* /keys */
	GW_R_KEY,    /* /keys/{id} */
	GW_R_WHOAMI, /* /whoami */
	GW_R_METRICS, /* /metrics: Prometheus text */
	GW_R_INT_ALERTMANAGER, /* POST /integrations/alertmanager */
	GW_R_INT_GRAFANA,      /* POST /integrations/grafana */
	GW_R_INT_PAGERDUTY,    /* POST /v2/enqueue, /integrations/pagerduty[/v2/enqueue] */
	GW_R_INTEGRATIONS,     /* GET /integrations: the last event per source */
	GW_R_CHANNELS,	    /* /channels (gw_channels.h) */
	GW_R_CHANNEL,	    /* /channels/{id} */
	GW_R_CHANNEL_TEST,  /* /channels/{id}/test */
	GW_R_NOTIFICATIONS, /* /incidents/{id}/notifications */
} gw_route_id;

enum {
	GW_M_GET = 1 << 0,
	GW_M_HEAD = 1 << 1,
	GW_M_POST = 1 << 2,
	GW_M_PUT = 1 << 3,
	GW_M_PATCH = 1 << 4,
	GW_M_DELETE = 1 << 5,
	GW_M_OPTIONS = 1 << 6,
	GW_M_OTHER = 1 << 7,
};

typedef struct {
	gw_route_id id;
	int64_t incident_id; /* routes under /incidents/{id} */
	int64_t channel_id;  /* routes under /channels/{id} */
	unsigned allowed;    /* GW_M_* mask */
	bool needs_key;
	gw_role read_role;  /* GET/HEAD need at least this role (NONE: no key) */
	gw_role write_role; /* other methods */
	char file[256]; /* GW_R_STATIC: path relative to the web directory */
} gw_match;

/* Matches a decoded URL path (no query). False: no such route or incident (404). An id
 * segment that is not a positive decimal integer is "no such incident". */
bool gw_route_match(const char *path, gw_match *m);

/* The role a request needs: read_role for GET/HEAD, write_role otherwise. */
gw_role gw_route_role(const gw_match *m, unsigned method);

/* The GW_M_* bit of a request method (GW_M_OTHER for anything unknown). */
unsigned gw_method_bit(const char *method);

/* Writes the Allow header value for mask, e.g. "GET, POST". */
void gw_allow_header(unsigned mask, char *out, size_t len);

/* True if the route and method take a JSON body (POST /incidents, PATCH /incidents/{id},
 * PUT /settings); other requests' bodies are read up to the limit and ignored. */
bool gw_route_takes_body(const gw_match *m, unsigned method);

/* The largest body the route takes: GW_INTEGRATION_MAX_BODY (or max_body if larger)
 * for the integrations, max_body elsewhere. */
long gw_route_max_body(const gw_match *m, long max_body);

/* True for the routes of alerting tools whose errors PagerDuty's clients read
 * ({"status":"invalid event",...}). */
bool gw_route_pd_errors(const gw_match *m);

/* True if the route is answered by the store (a REQ round trip). */
bool gw_route_uses_store(const gw_match *m);

/* A store request being built: msg points into the storage here. */
typedef struct {
	proto_msg msg;
	gw_submit_body submit;
	proto_kv params[PROTO_PARAMS_MAX];
	char model[GW_MODEL_MAX + 1];
	char request_id[GW_REQUEST_ID_LEN + 1];
	char idem[2 * GW_SHA256_LEN + 1];
	char note[PROTO_NOTE_MAX + 1]; /* resolve: the resolution note */
	char retry[2 * GW_SHA256_LEN + 1]; /* submit without Idempotency-Key: its retry_key */
	char key_name[PROTO_SHORT_MAX + 1];
	char key_digest[2 * GW_SHA256_LEN + 1];
	char key_id[24];
	gw_alerts_request alerts;
	gw_channel_body channel;
} gw_store_request;

/* Input to gw_build_request: what the HTTP layer collected. */
typedef struct {
	unsigned method;
	const char *body;
	size_t body_len;
	const gw_param *params;
	size_t nparams;
	const char *idempotency_key; /* header value or NULL */
	const uint8_t *tenant;       /* the key's digest (GW_SHA256_LEN) */
	const char *new_key;         /* POST /keys: the key made for this request */
	gw_auth *auth;               /* the keys (PagerDuty's routing_key is checked here) */
} gw_http_input;

/* Validates the input for a store route and builds the request (with a fresh
 * request_id). False with detail on invalid input (answer 400). Free with
 * gw_store_request_free either way. */
bool gw_build_request(const gw_match *m, const gw_http_input *in, gw_store_request *out,
		      char *detail, size_t dlen);
void gw_store_request_free(gw_store_request *r);

/* HTTP status for a store answer code (tr_err) on this route: TR_OK is 202 for
 * POST /incidents and retriage, 200 otherwise; an error is tr_err_http_status(code). */
int gw_reply_status(const gw_match *m, unsigned method, int code);

#endif
