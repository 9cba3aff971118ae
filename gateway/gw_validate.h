/* gw_validate: checks every client input against docs/API.md before anything is sent
 * to the store: request bodies (strict JSON: duplicates, invalid UTF-8, unknown fields
 * and wrong types rejected), query parameters, path ids and headers. Pure functions,
 * no I/O. On failure each writes a one-line detail naming the field or limit, e.g.
 * "title: must be 1-200 characters", for {"error":"invalid","detail":...}. */
#ifndef GW_VALIDATE_H
#define GW_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "proto_contract.h"

#define GW_DETAIL_MAX 256
#define GW_CURSOR_MAX PROTO_SHORT_MAX
#define GW_MODEL_MAX PROTO_SHORT_MAX

/* A validated POST /incidents body. submit's strings and labels point into root and
 * the labels array here: valid until gw_submit_body_free(). request_id and
 * idempotency_key are left NULL for the caller to fill. */
typedef struct {
	json_t *root;
	proto_submit submit;
	proto_kv labels[PROTO_LABELS_MAX];
} gw_submit_body;

/* Parses and checks a POST /incidents body. Returns true on success (free *out with
 * gw_submit_body_free), false with detail written (and *out left empty). */
bool gw_validate_submit(const char *body, size_t len, gw_submit_body *out, char *detail,
			size_t dlen);
void gw_submit_body_free(gw_submit_body *b);

/* A query parameter as the HTTP layer found it (value may be NULL: "?q"). */
typedef struct {
	const char *key;
	const char *value;
	size_t value_len;
} gw_param;

/* Checks GET /incidents parameters: status, severity, category, state (enums), q
 * (1-200 characters), limit (1-200), cursor (1-255 bytes of [A-Za-z0-9._~:=+/-]); no
 * unknown or repeated parameter. out (PROTO_PARAMS_MAX entries) gets pointers into in. */
bool gw_validate_list_params(const gw_param *in, size_t n, proto_kv *out, size_t *nout,
			     char *detail, size_t dlen);

/* Checks a PATCH /incidents/{id} body: {"severity": enum|null, "category": enum|null},
 * at least one present, nothing else. out (2 entries) gets static strings; a null
 * value becomes "" (clear the override). */
bool gw_validate_override(const char *body, size_t len, proto_kv *out, size_t *nout,
			  char *detail, size_t dlen);

/* Checks a PUT /settings body: {"model": 1-255 bytes of [A-Za-z0-9._:/-]}; copies the
 * model into model (GW_MODEL_MAX + 1 bytes). */
bool gw_validate_settings(const char *body, size_t len, char *model, char *detail, size_t dlen);

/* gw_validate_resolve.c. Checks a POST /incidents/{id}/resolve body (optional: empty
 * means none) {"note": string of 1-4096 bytes | null, "feedback": "right"|"wrong"|null},
 * or with feedback_only a POST /incidents/{id}/feedback body {"feedback": "right"|"wrong"}
 * (required). out (2 entries) gets "note" (copied into note, PROTO_NOTE_MAX + 1 bytes)
 * and "feedback" (a static string) when given. */
bool gw_validate_resolve(const char *body, size_t len, bool feedback_only, proto_kv *out,
			 size_t *nout, char *note, char *detail, size_t dlen);

/* Parses an incident id path segment: decimal digits, no sign, no leading zero,
 * 1..INT64_MAX. */
bool gw_parse_id(const char *s, size_t len, int64_t *out);

/* Checks an Idempotency-Key header value: 1-255 bytes of visible ASCII. */
bool gw_validate_idempotency_key(const char *v, char *detail, size_t dlen);

/* Decodes a URL path or query component in place (the MHD unescape callback): %HH
 * becomes its byte and '+' a space (form encoding, as browsers send queries), except
 * that %00 stays as the three characters "%00", so no NUL ever reaches a handler.
 * Malformed escapes are left as they are. Returns the new length. */
size_t gw_url_unescape(char *s);

/* True if value is one of the enum's names; the enums of docs/API.md. */
bool gw_is_severity(const char *v);
bool gw_is_category(const char *v);

#endif
