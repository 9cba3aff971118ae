/* gw_metrics: the gateway's own figures for GET /metrics: HTTP requests by route and
 * status, and the latency of POST /incidents (the time to a committed 202), rendered in
 * the Prometheus text format together with the text the store sends for its part. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdint.h>

#include "gw_routes.h"

typedef struct gw_metrics gw_metrics;

/* NULL when out of memory. Free with gw_metrics_free. */
gw_metrics *gw_metrics_new(void);
void gw_metrics_free(gw_metrics *m);

/* One finished request (any thread). status 0 (never answered) is not counted. */
void gw_metrics_request(gw_metrics *m, gw_route_id route, unsigned method, int status,
			int64_t duration_us);

/* The whole exposition (malloc'd; NULL when out of memory): the gateway's series, then
 * store_text (the store's part) or, when it is NULL, triage_store_up 0. */
char *gw_metrics_render(const gw_metrics *m, const char *gateway_id, const char *store_text);

#endif
