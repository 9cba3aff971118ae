/* gw_metrics: counters in fixed arrays of atomics (route x status), so counting costs
 * no lock on the request path; rendering reads them without stopping anything. */
#include "gw_metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tr_prom.h"

#define GW_METRICS_ROUTES 64
#define GW_METRICS_TEXT_MAX (1024 * 1024)

static const int gw_metrics_statuses[] = {200, 201, 202, 204, 301, 304, 400, 401, 403, 404,
					   405, 409, 413, 415, 429, 500, 503};
#define GW_METRICS_NSTATUS (sizeof gw_metrics_statuses / sizeof gw_metrics_statuses[0])

struct gw_metrics {
	/* the last status column counts every other status */
	atomic_ulong requests[GW_METRICS_ROUTES][GW_METRICS_NSTATUS + 1];
	tr_prom_histogram ingest;
};

static const char *gw_metrics_route_name(int route)
{
	switch ((gw_route_id)route) {
	case GW_R_INCIDENTS: return "incidents";
	case GW_R_INCIDENT: return "incident";
	case GW_R_RETRIAGE: return "retriage";
	case GW_R_ACK: return "acknowledge";
	case GW_R_RESOLVE: return "resolve";
	case GW_R_STATS: return "stats";
	case GW_R_SETTINGS: return "settings";
	case GW_R_EVENTS: return "events";
	case GW_R_HEALTHZ: return "healthz";
	case GW_R_READYZ: return "readyz";
	case GW_R_STATIC: return "static";
	case GW_R_METRICS: return "metrics";
	case GW_R_KEYS: return "keys";
	case GW_R_KEY: return "key";
	case GW_R_WHOAMI: return "whoami";
	case GW_R_NONE: return "none";
	default: return "other";
	}
}

gw_metrics *gw_metrics_new(void)
{
	return calloc(1, sizeof(gw_metrics));
}

void gw_metrics_free(gw_metrics *m)
{
	free(m);
}

void gw_metrics_request(gw_metrics *m, gw_route_id route, unsigned method, int status,
			int64_t duration_us)
{
	if (!m || status == 0)
		return;
	size_t r = (size_t)route < GW_METRICS_ROUTES ? (size_t)route : 0;
	size_t s = 0;
	while (s < GW_METRICS_NSTATUS && gw_metrics_statuses[s] != status)
		s++;
	atomic_fetch_add(&m->requests[r][s], 1);
	if (route == GW_R_INCIDENTS && method == GW_M_POST)
		tr_prom_observe_us(&m->ingest, duration_us);
}

char *gw_metrics_render(const gw_metrics *m, const char *gateway_id, const char *store_text)
{
	tr_buf b;
	tr_buf_init(&b, GW_METRICS_TEXT_MAX);
	tr_prom_header(&b, "triage_http_requests_total", "counter",
		       "HTTP requests answered by this gateway, by route and status");
	for (int r = 0; r < GW_METRICS_ROUTES; r++) {
		for (size_t s = 0; s <= GW_METRICS_NSTATUS; s++) {
			unsigned long n = atomic_load(&m->requests[r][s]);
			if (n == 0)
				continue;
			if (s < GW_METRICS_NSTATUS)
				tr_buf_addf(&b, "triage_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
					       gw_metrics_route_name(r), gw_metrics_statuses[s], n);
			else
				tr_buf_addf(&b, "triage_http_requests_total{route=\"%s\",status=\"other\"} %lu\n",
					       gw_metrics_route_name(r), n);
		}
	}
	tr_prom_header(&b, "triage_ingest_latency_seconds", "histogram",
		       "POST /incidents, request received to answer (a 202 is a commit)");
	tr_prom_histogram_write(&b, "triage_ingest_latency_seconds", "", &m->ingest);
	tr_prom_header(&b, "triage_gateway_info", "gauge", "this gateway");
	tr_buf_addf(&b, "triage_gateway_info{gateway=\"");
	tr_prom_label_value(&b, gateway_id);
	tr_buf_addf(&b, "\"} 1\n");
	tr_prom_header(&b, "triage_store_up", "gauge",
		       "1 if the store answered this scrape (its figures follow), else 0");
	tr_buf_addf(&b, "triage_store_up %d\n", store_text ? 1 : 0);
	if (store_text)
		tr_buf_addf(&b, "%s", store_text);
	return tr_buf_take(&b);
}
