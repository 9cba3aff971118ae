/* gw_reply: answering a request: JSON bodies and errors, and the security headers
 * (CSP without inline script, nosniff, no referrer) on every response. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http_req.h"

static void gw_common_headers(struct MHD_Response *resp, bool api)
{
	MHD_add_response_header(resp, "Content-Security-Policy", GW_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (api) {
		MHD_add_response_header(resp, "Cache-Control", "no-store");
		MHD_add_response_header(resp, "Content-Type", "application/json");
	}
}

enum MHD_Result gw_queue(gw_req *r, int status, struct MHD_Response *resp, bool api,
				const char *const *extra)
{
	if (!resp)
		return MHD_NO;
	gw_common_headers(resp, api);
	for (size_t i = 0; extra && extra[i]; i += 2)
		MHD_add_response_header(resp, extra[i], extra[i + 1]);
	if (status == 503)
		MHD_add_response_header(resp, "Retry-After", "1");
	r->status = status;
	r->phase = GW_PH_DONE;
	gw_conns_phase(r->h->conns, r->conn, GW_CONN_BUSY);
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result gw_respond_json(gw_req *r, int status, char *json,
				       const char *const *extra)
{
	if (!json)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(json);
	return gw_queue(r, status, resp, true, extra);
}

char *gw_error_json(const char *error, const char *detail)
{
	json_t *o = json_pack("{s:s, s:s}", "error", error, "detail", detail);
	if (!o) /* detail was not valid UTF-8: never echo it */
		o = json_pack("{s:s, s:s}", "error", error, "detail", "invalid input");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

enum MHD_Result gw_respond_error(gw_req *r, int status, const char *error,
					const char *detail, const char *const *extra)
{
	return gw_respond_json(r, status, gw_error_json(error, detail), extra);
}

enum MHD_Result gw_respond_text(gw_req *r, int status, const char *json)
{
	return gw_respond_json(r, status, strdup(json), NULL);
}

