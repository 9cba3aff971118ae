/* store_params: checking query parameters again in the store (never trust a peer):
 * LIST filters, the opaque paging cursor, override values, the model setting. Pure:
 * unit-tested. Every check fails with a one-line detail naming the parameter. */
#ifndef STORE_PARAMS_H
#define STORE_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "proto_contract.h"

#define STORE_CURSOR_MAX 32

/* A checked LIST. Strings point into the query's params (or are NULL: no filter);
 * q_like is the ILIKE pattern of q (escaped, wrapped in %). */
typedef struct {
	const char *status, *severity, *category, *state;
	char q_like[PROTO_Q_MAX_CHARS * 4 * 2 + 3];
	bool has_q;
	long limit;
	int64_t before_id; /* 0: from the newest */
} store_list_query;

int store_list_parse(const proto_kv *params, size_t n, store_list_query *out, char *detail,
		     size_t detlen);

/* The cursor for "the page after id" (base64url of the decimal id). */
void store_cursor_encode(int64_t id, char out[STORE_CURSOR_MAX]);
/* The id of a cursor, or -1 if it is not one of ours. */
int64_t store_cursor_decode(const char *cursor);

/* Enumerations; NULL-safe. */
bool store_is_status(const char *s);
bool store_is_severity(const char *s);
bool store_is_category(const char *s);
bool store_is_state(const char *s);

/* OVERRIDE params: "severity" and/or "category" (at least one); "" clears. Outputs
 * point into params; *set_x tells whether the key was present. */
int store_override_parse(const proto_kv *params, size_t n, const char **severity,
			 bool *set_severity, const char **category, bool *set_category,
			 char *detail, size_t detlen);

/* RESOLVE params: optional "note" (1..PROTO_NOTE_MAX bytes of UTF-8) and "feedback"
 * (right|wrong); FEEDBACK (feedback_only): "feedback" required, nothing else. Outputs
 * point into params, NULL when absent. */
int store_resolve_parse(const proto_kv *params, size_t n, bool feedback_only, const char **note,
			const char **feedback, char *detail, size_t detlen);

/* A model name: 1-255 bytes of [A-Za-z0-9._:/-]. */
bool store_model_ok(const char *model);

#endif
