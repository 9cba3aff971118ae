/* gw_routes: route table, store request building and answer mapping for the API. */
#include "gw_routes.h"

#include <stdio.h>
#include <string.h>

#include "gw_auth.h"
#include "gw_keys.h"
#include "gw_static.h"
#include "tr_err.h"

static const struct {
	const char *path;
	gw_route_id id;
	unsigned allowed;
	bool needs_key;
	gw_role read_role, write_role; /* role: <read>/<write> */
} gw_fixed_routes[] = {
	{"/incidents", GW_R_INCIDENTS, GW_M_GET | GW_M_POST, true, GW_ROLE_VIEWER,
	 GW_ROLE_REPORTER},
	{"/stats", GW_R_STATS, GW_M_GET, true, GW_ROLE_VIEWER, GW_ROLE_ADMIN},
	{"/settings", GW_R_SETTINGS, GW_M_GET | GW_M_PUT, true, GW_ROLE_VIEWER, GW_ROLE_ADMIN},
	{"/events", GW_R_EVENTS, GW_M_GET, true, GW_ROLE_VIEWER, GW_ROLE_ADMIN},
	{"/healthz", GW_R_HEALTHZ, GW_M_GET | GW_M_HEAD, false, GW_ROLE_NONE, GW_ROLE_NONE},
	{"/readyz", GW_R_READYZ, GW_M_GET | GW_M_HEAD, false, GW_ROLE_NONE, GW_ROLE_NONE},
	{"/keys", GW_R_KEYS, GW_M_GET | GW_M_POST, true, GW_ROLE_ADMIN, GW_ROLE_ADMIN},
	{"/whoami", GW_R_WHOAMI, GW_M_GET, true, GW_ROLE_VIEWER, GW_ROLE_VIEWER},
	{"/metrics", GW_R_METRICS, GW_M_GET, true, GW_ROLE_VIEWER, GW_ROLE_ADMIN},
	{"/integrations", GW_R_INTEGRATIONS, GW_M_GET, true, GW_ROLE_VIEWER, GW_ROLE_VIEWER},
	{"/integrations/alertmanager", GW_R_INT_ALERTMANAGER, GW_M_POST, true, GW_ROLE_REPORTER,
	 GW_ROLE_REPORTER},
	{"/integrations/grafana", GW_R_INT_GRAFANA, GW_M_POST, true, GW_ROLE_REPORTER,
	 GW_ROLE_REPORTER},
	/* PagerDuty clients send no header: the body's routing_key is the key (a configured
	 * key of 32 characters, checked in gw_src_pagerduty.c) */
	{"/v2/enqueue", GW_R_INT_PAGERDUTY, GW_M_POST, false, GW_ROLE_NONE, GW_ROLE_NONE},
	{"/integrations/pagerduty", GW_R_INT_PAGERDUTY, GW_M_POST, false, GW_ROLE_NONE,
	 GW_ROLE_NONE},
	{"/integrations/pagerduty/v2/enqueue", GW_R_INT_PAGERDUTY, GW_M_POST, false, GW_ROLE_NONE,
	 GW_ROLE_NONE},
};

/* POST /incidents/{id}/<action>: role responder */
static const struct {
	const char *name;
	gw_route_id id;
	unsigned allowed;
} gw_actions[] = {
	{"retriage", GW_R_RETRIAGE, GW_M_POST},
	{"acknowledge", GW_R_ACK, GW_M_POST},
	{"resolve", GW_R_RESOLVE, GW_M_POST},             /* role: responder */
	{"notifications", GW_R_NOTIFICATIONS, GW_M_GET},  /* role: viewer */
	{"feedback", GW_R_FEEDBACK, GW_M_POST},           /* role: responder */
	{"similar", GW_R_SIMILAR, GW_M_GET},              /* role: viewer */
};

bool gw_route_match(const char *path, gw_match *m)
{
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < sizeof gw_fixed_routes / sizeof gw_fixed_routes[0]; i++) {
		if (strcmp(path, gw_fixed_routes[i].path) == 0) {
			m->id = gw_fixed_routes[i].id;
			m->allowed = gw_fixed_routes[i].allowed;
			m->needs_key = gw_fixed_routes[i].needs_key;
			m->read_role = gw_fixed_routes[i].read_role;
			m->write_role = gw_fixed_routes[i].write_role;
			return true;
		}
	}
	if (strncmp(path, "/keys/", 6) == 0) { /* role: admin */
		if (!gw_parse_id(path + 6, strlen(path + 6), &m->incident_id))
			return false;
		m->id = GW_R_KEY;
		m->allowed = GW_M_DELETE;
		m->needs_key = true;
		m->read_role = m->write_role = GW_ROLE_ADMIN;
		return true;
	}
	if (strncmp(path, "/incidents/", 11) == 0) {
		const char *seg = path + 11;
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (!gw_parse_id(seg, len, &m->incident_id))
			return false;
		m->needs_key = true;
		m->read_role = GW_ROLE_VIEWER;
		m->write_role = GW_ROLE_RESPONDER; /* PATCH (override) and the actions */
		if (!slash) {
			m->id = GW_R_INCIDENT;
			m->allowed = GW_M_GET | GW_M_PATCH;
			return true;
		}
		for (size_t i = 0; i < sizeof gw_actions / sizeof gw_actions[0]; i++) {
			if (strcmp(slash + 1, gw_actions[i].name) == 0) {
				m->id = gw_actions[i].id;
				m->allowed = gw_actions[i].allowed;
				return true;
			}
		}
		return false;
	}
	int channel_route;
	if (gw_channel_match(path, &channel_route, &m->allowed, &m->channel_id)) {
		m->id = (gw_route_id)channel_route; /* role: admin */
		m->needs_key = true;
		m->read_role = m->write_role = GW_ROLE_ADMIN; /* channels hold secrets */
		return true;
	}
	if (strncmp(path, "/channels/", 10) == 0)
		return false;
	if (gw_static_path(path, m->file, sizeof m->file)) {
		m->id = GW_R_STATIC;
		m->allowed = GW_M_GET | GW_M_HEAD;
		return true;
	}
	return false;
}

gw_role gw_route_role(const gw_match *m, unsigned method)
{
	return (method == GW_M_GET || method == GW_M_HEAD) ? m->read_role : m->write_role;
}

unsigned gw_method_bit(const char *method)
{
	static const struct {
		const char *name;
		unsigned bit;
	} methods[] = {{"GET", GW_M_GET},     {"HEAD", GW_M_HEAD},     {"POST", GW_M_POST},
		       {"PUT", GW_M_PUT},     {"PATCH", GW_M_PATCH},   {"DELETE", GW_M_DELETE},
		       {"OPTIONS", GW_M_OPTIONS}};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	}
	return GW_M_OTHER;
}

void gw_allow_header(unsigned mask, char *out, size_t len)
{
	static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = snprintf(out + used, len - used, "%s%s", used ? ", " : "", names[i]);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

bool gw_route_takes_body(const gw_match *m, unsigned method)
{
	return (m->id == GW_R_INCIDENTS && method == GW_M_POST) ||
	       ((m->id == GW_R_INT_ALERTMANAGER || m->id == GW_R_INT_GRAFANA ||
		 m->id == GW_R_INT_PAGERDUTY) &&
		method == GW_M_POST) ||
	       (m->id == GW_R_INCIDENT && method == GW_M_PATCH) ||
	       (m->id == GW_R_SETTINGS && method == GW_M_PUT) ||
	       (m->id == GW_R_RESOLVE && method == GW_M_POST) || /* optional body */
	       (m->id == GW_R_FEEDBACK && method == GW_M_POST) ||
	       (m->id == GW_R_KEYS && method == GW_M_POST) ||
	       (m->id == GW_R_CHANNELS && method == GW_M_POST) ||
	       (m->id == GW_R_CHANNEL && method == GW_M_PATCH);
}

long gw_route_max_body(const gw_match *m, long max_body)
{
	bool integration = m->id == GW_R_INT_ALERTMANAGER || m->id == GW_R_INT_GRAFANA ||
			   m->id == GW_R_INT_PAGERDUTY;
	return integration && max_body < GW_INTEGRATION_MAX_BODY ? GW_INTEGRATION_MAX_BODY
								 : max_body;
}

bool gw_route_pd_errors(const gw_match *m)
{
	return m->id == GW_R_INT_PAGERDUTY;
}

static bool gw_build_alerts(const gw_match *m, const gw_http_input *in, gw_store_request *out,
			    char *detail, size_t dlen)
{
	gw_source src = m->id == GW_R_INT_ALERTMANAGER ? GW_SRC_ALERTMANAGER
			: m->id == GW_R_INT_GRAFANA    ? GW_SRC_GRAFANA
						       : GW_SRC_PAGERDUTY;
	if (!gw_integration_build(src, in->body, in->body_len, out->request_id, in->auth,
				  &out->alerts, detail, dlen))
		return false;
	out->msg.type = PROTO_ALERTS;
	out->msg.u.alerts = out->alerts.alerts;
	return true;
}

bool gw_route_uses_store(const gw_match *m)
{
	return m->id != GW_R_NONE && m->id != GW_R_STATIC && m->id != GW_R_EVENTS &&
	       m->id != GW_R_HEALTHZ && m->id != GW_R_WHOAMI;
}

/* The retry_key of a submit sent without an Idempotency-Key: the tenant and the exact
 * body, so a client's retry of the same request has the same key (proto.h). */
static void gw_retry_key(const uint8_t tenant[GW_SHA256_LEN], const char *body, size_t len,
			 char out[2 * GW_SHA256_LEN + 1])
{
	const void *parts[] = {"triage-retry\0", tenant, body};
	size_t lens[] = {13, GW_SHA256_LEN, len};
	uint8_t d[GW_SHA256_LEN];
	gw_sha256_v(3, parts, lens, d);
	gw_hex(d, GW_SHA256_LEN, out);
}

static void gw_query(gw_store_request *r, int op, int64_t id)
{
	r->msg.type = PROTO_QUERY;
	r->msg.u.query.request_id = r->request_id;
	r->msg.u.query.op = op;
	r->msg.u.query.incident_id = id;
}

/* The channel routes: list/create, update/delete, test (admin). */
static bool gw_channel_request(const gw_match *m, const gw_http_input *in,
			       gw_store_request *out, size_t *n, char *detail, size_t dlen)
{
	int op = PROTO_OP_CHANNEL_LIST;
	if (m->id == GW_R_CHANNELS && in->method == GW_M_POST)
		op = PROTO_OP_CHANNEL_CREATE;
	else if (m->id == GW_R_CHANNEL)
		op = in->method == GW_M_PATCH ? PROTO_OP_CHANNEL_UPDATE : PROTO_OP_CHANNEL_DELETE;
	else if (m->id == GW_R_CHANNEL_TEST)
		op = PROTO_OP_CHANNEL_TEST;
	if (m->channel_id > 0) {
		snprintf(out->channel.id, sizeof out->channel.id, "%lld", (long long)m->channel_id);
		out->params[0].key = "channel_id";
		out->params[0].value = out->channel.id;
		*n = 1;
	}
	if (op == PROTO_OP_CHANNEL_CREATE || op == PROTO_OP_CHANNEL_UPDATE) {
		if (!gw_channel_validate(in->body, in->body_len, op == PROTO_OP_CHANNEL_CREATE,
					 &out->channel, out->params, n, detail, dlen))
			return false;
	}
	gw_query(out, op, 0);
	return true;
}

bool gw_build_request(const gw_match *m, const gw_http_input *in, gw_store_request *out,
		      char *detail, size_t dlen)
{
	size_t n = 0;
	memset(out, 0, sizeof *out);
	gw_request_id(out->request_id);

	/* Only GET /incidents takes query parameters; elsewhere they are refused too. */
	if (in->nparams && !(m->id == GW_R_INCIDENTS && in->method == GW_M_GET)) {
		snprintf(detail, dlen, "query: this route takes no parameters");
		return false;
	}
	switch (m->id) {
	case GW_R_INCIDENTS:
		if (in->method == GW_M_GET) {
			if (!gw_validate_list_params(in->params, in->nparams, out->params, &n,
						     detail, dlen))
				return false;
			gw_query(out, PROTO_OP_LIST, 0);
			break;
		}
		if (in->idempotency_key &&
		    !gw_validate_idempotency_key(in->idempotency_key, detail, dlen))
			return false;
		if (!gw_validate_submit(in->body, in->body_len, &out->submit, detail, dlen))
			return false;
		out->msg.type = PROTO_SUBMIT;
		out->msg.u.submit = out->submit.submit;
		out->msg.u.submit.labels = out->submit.submit.nlabels ? out->submit.labels : NULL;
		out->msg.u.submit.request_id = out->request_id;
		if (in->idempotency_key) {
			gw_auth_idempotency_key(in->tenant, in->idempotency_key,
						strlen(in->idempotency_key), out->idem);
			out->msg.u.submit.idempotency_key = out->idem;
		} else {
			/* a retry of a 503 whose outcome was unknown matches on its content */
			gw_retry_key(in->tenant, in->body, in->body_len, out->retry);
			out->msg.u.submit.retry_key = out->retry;
		}
		return true;
	case GW_R_INCIDENT:
		if (in->method == GW_M_PATCH) {
			if (!gw_validate_override(in->body, in->body_len, out->params, &n, detail,
						  dlen))
				return false;
			gw_query(out, PROTO_OP_OVERRIDE, m->incident_id);
		} else {
			gw_query(out, PROTO_OP_GET, m->incident_id);
		}
		break;
	case GW_R_RETRIAGE: gw_query(out, PROTO_OP_RETRIAGE, m->incident_id); break;
	case GW_R_ACK: gw_query(out, PROTO_OP_ACKNOWLEDGE, m->incident_id); break;
	case GW_R_RESOLVE:
		if (!gw_validate_resolve(in->body, in->body_len, false, out->params, &n, out->note,
					 detail, dlen))
			return false;
		gw_query(out, PROTO_OP_RESOLVE, m->incident_id);
		break;
	case GW_R_FEEDBACK:
		if (!gw_validate_resolve(in->body, in->body_len, true, out->params, &n, out->note,
					 detail, dlen))
			return false;
		gw_query(out, PROTO_OP_FEEDBACK, m->incident_id);
		break;
	case GW_R_SIMILAR: gw_query(out, PROTO_OP_SIMILAR, m->incident_id); break;
	case GW_R_STATS: gw_query(out, PROTO_OP_STATS, 0); break;
	case GW_R_INTEGRATIONS: gw_query(out, PROTO_OP_INTEGRATIONS, 0); break;
	case GW_R_INT_ALERTMANAGER:
	case GW_R_INT_GRAFANA:
	case GW_R_INT_PAGERDUTY: return gw_build_alerts(m, in, out, detail, dlen);
	case GW_R_READYZ: gw_query(out, PROTO_OP_READY, 0); break;
	case GW_R_METRICS: gw_query(out, PROTO_OP_METRICS, 0); break;
	case GW_R_SETTINGS:
		if (in->method == GW_M_PUT) {
			if (!gw_validate_settings(in->body, in->body_len, out->model, detail, dlen))
				return false;
			out->params[0].key = "model";
			out->params[0].value = out->model;
			n = 1;
			gw_query(out, PROTO_OP_SETTINGS_PUT, 0);
		} else {
			gw_query(out, PROTO_OP_SETTINGS_GET, 0);
		}
		break;
	case GW_R_NOTIFICATIONS: gw_query(out, PROTO_OP_NOTIFICATIONS, m->incident_id); break;
	case GW_R_CHANNELS:
	case GW_R_CHANNEL:
	case GW_R_CHANNEL_TEST:
		if (!gw_channel_request(m, in, out, &n, detail, dlen))
			return false;
		break;
	case GW_R_KEYS:
	case GW_R_KEY:
		if (!gw_keys_build(m, in, out, &n, detail, dlen))
			return false;
		break;
	default:
		snprintf(detail, dlen, "route: not answered by the store");
		return false;
	}
	out->msg.u.query.params = n ? out->params : NULL;
	out->msg.u.query.nparams = n;
	return true;
}

void gw_store_request_free(gw_store_request *r)
{
	gw_submit_body_free(&r->submit);
	gw_alerts_request_free(&r->alerts);
	gw_channel_body_free(&r->channel);
	memset(&r->msg, 0, sizeof r->msg);
}

int gw_reply_status(const gw_match *m, unsigned method, int code)
{
	if (code != TR_OK)
		return tr_err_http_status(code);
	if ((m->id == GW_R_INCIDENTS && method == GW_M_POST) || m->id == GW_R_RETRIAGE ||
	    m->id == GW_R_INT_ALERTMANAGER || m->id == GW_R_INT_GRAFANA ||
	    m->id == GW_R_INT_PAGERDUTY || m->id == GW_R_CHANNEL_TEST)
		return 202;
	if ((m->id == GW_R_KEYS || m->id == GW_R_CHANNELS) && method == GW_M_POST)
		return 201;
	return 200;
}
