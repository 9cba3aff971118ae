/* gw_channels: the notification routes (/channels, /channels/{id}, /channels/{id}/test,
 * /incidents/{id}/notifications): matching and the checks of a channel body before
 * the store sees it. Pure functions, no I/O (docs/API.md, "Notification channels"). */
#ifndef GW_CHANNELS_H
#define GW_CHANNELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define GW_CHANNEL_SERVICES_MAX 20 /* services in a rule */
#define GW_CHANNEL_LIST_MAX 1024   /* a comma-joined list, in bytes */

/* A validated channel body. The params' values point into root and the buffers here:
 * valid until gw_channel_body_free(), which is safe on a zeroed body. */
typedef struct {
	json_t *root;
	char id[24];
	char categories[GW_CHANNEL_LIST_MAX + 1];
	char services[GW_CHANNEL_LIST_MAX + 1];
	char events[64];
	char hold_down_s[16];
} gw_channel_body;

/* Checks a POST /channels (create: name, kind and url required; a webhook needs a
 * secret) or PATCH /channels/{id} body (any field, at least one). Fields: name (1-100
 * characters), kind (webhook|slack), url (http:// or https://, at most 1000 bytes, no
 * spaces), secret (1-255 bytes; webhook only; null clears), min_severity (enum or null),
 * categories (array of category names), services (array of 1-100 byte names without
 * commas, at most 20), events (non-empty array of triaged|severity_raised|resolved),
 * hold_down_s (0..86400), enabled (bool). Writes params into out (PROTO_PARAMS_MAX
 * entries) and their count; false with detail on any fault. */
bool gw_channel_validate(const char *body, size_t len, bool create, gw_channel_body *b,
			 proto_kv *out, size_t *nout, char *detail, size_t dlen);
void gw_channel_body_free(gw_channel_body *b);

/* Matches /channels, /channels/{id} and /channels/{id}/test: the route (a gw_route_id),
 * the allowed methods and the channel id (0 for /channels). False: not a channel path,
 * or an id that is no id (404). */
bool gw_channel_match(const char *path, int *route, unsigned *allowed, int64_t *channel_id);

#endif
