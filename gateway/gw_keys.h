/* gw_keys: the key-management routes (GET/POST /keys, DELETE /keys/{id}, admin only)
 * as pure functions: request validation, the store request, the answer that shows a
 * new key once, and the store's answer to a key lookup. No I/O. */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_auth.h"
#include "gw_routes.h"

#define GW_KEY_NAME_MAX 64

/* Checks the request and fills out->msg (a PROTO_QUERY of the KEY ops; parameters
 * point into out) and *n (parameters used). POST needs in->new_key and a body
 * {"name": 1-64 characters of [A-Za-z0-9 ._@-], "role": viewer|reporter|responder|
 * admin}. False with detail on invalid input. */
bool gw_keys_build(const gw_match *m, const gw_http_input *in, gw_store_request *out, size_t *n,
		   char *detail, size_t dlen);

/* The answer to POST /keys: the store's record with "key" added (the only time the key
 * is shown). Returns a malloc'd string, or NULL if json is not an object. */
char *gw_keys_with_key(const char *json, const char *key);

/* Reads a KEY_LOOKUP answer {"id": n, "role": "..."} into p (id as "k<n>"). False if
 * the answer is not of that shape. */
bool gw_keys_parse_lookup(const char *json, gw_principal *p);

#endif
