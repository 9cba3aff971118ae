/* gw_sse_frame: the text of the event-stream frames of docs/API.md (hello, incident,
 * resync), each one line of compact JSON in its data field. Pure functions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_sse.h"

void gw_iso8601_ms(int64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	int milli = (int)(ms % 1000);
	if (milli < 0) {
		milli += 1000;
		secs -= 1;
	}
	struct tm tm;
	char date[24];
	gmtime_r(&secs, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", date, milli);
}

/* "prefix" + compact JSON of obj + "\n\n"; takes obj. */
static char *gw_frame_text(const char *prefix, json_t *obj)
{
	char *out = NULL;
	if (!obj)
		return NULL;
	char *json = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!json)
		return NULL;
	size_t len = strlen(prefix) + strlen(json) + 3;
	out = malloc(len);
	if (out)
		snprintf(out, len, "%s%s\n\n", prefix, json);
	free(json);
	return out;
}

char *gw_sse_frame_hello(const char *gateway_id)
{
	return gw_frame_text("event: hello\ndata: ", json_pack("{s:s}", "gateway", gateway_id));
}

char *gw_sse_frame_resync(const char *reason)
{
	return gw_frame_text("event: resync\ndata: ", json_pack("{s:s}", "reason", reason));
}

static json_t *gw_opt_string(const char *s)
{
	return (s && *s) ? json_string(s) : json_null();
}

char *gw_sse_frame_incident(const proto_event *ev)
{
	char at[32], prefix[96];
	gw_iso8601_ms(ev->at_ms, at);
	snprintf(prefix, sizeof prefix, "id: %lld-%lld\nevent: incident\ndata: ",
		 (long long)ev->epoch, (long long)ev->seq);
	json_t *obj = json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:o?, s:o?, s:s}", "id",
				(json_int_t)ev->incident_id, "version", (json_int_t)ev->version,
				"kind", ev->kind, "status", ev->status, "state", ev->state,
				"severity", gw_opt_string(ev->severity), "category",
				gw_opt_string(ev->category), "at", at);
	return gw_frame_text(prefix, obj);
}

