/* gw_validate_resolve: the bodies of resolve (an optional resolution note and triage
 * feedback) and of feedback, checked as strictly as every other body. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw_validate.h"
#include "proto_contract.h"
#include "tr_utf8.h"

static bool gw_resolve_fail(char *detail, size_t dlen, const char *msg)
{
	snprintf(detail, dlen, "%s", msg);
	return false;
}

bool gw_validate_resolve(const char *body, size_t len, bool feedback_only, proto_kv *out,
			 size_t *nout, char *note, char *detail, size_t dlen)
{
	bool ok = false;
	size_t n = 0, bad_at = 0;
	json_error_t jerr;
	*nout = 0;
	if (len == 0 && !feedback_only)
		return true; /* resolve without a body */
	if (len == 0)
		return gw_resolve_fail(detail, dlen, "body: empty, expected a JSON object");
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		if (!tr_utf8_valid(body, len, NULL, &bad_at))
			snprintf(detail, dlen, "body: invalid UTF-8 at byte %zu", bad_at);
		else
			snprintf(detail, dlen, "body: invalid JSON at line %d column %d: %s",
				 jerr.line, jerr.column, jerr.text);
		return false;
	}
	if (!json_is_object(root)) {
		gw_resolve_fail(detail, dlen, "body: must be a JSON object");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		bool known = strcmp(key, "feedback") == 0 ||
			     (!feedback_only && strcmp(key, "note") == 0);
		if (!known) {
			snprintf(detail, dlen, "%.64s: unknown field", key);
			goto out;
		}
	}
	json_t *fb = json_object_get(root, "feedback");
	json_t *nt = json_object_get(root, "note");
	if (nt && !json_is_null(nt)) {
		size_t l = json_is_string(nt) ? json_string_length(nt) : 0;
		if (!json_is_string(nt) || l < 1 || l > PROTO_NOTE_MAX) {
			snprintf(detail, dlen, "note: must be a string of 1-%d bytes or null",
				 PROTO_NOTE_MAX);
			goto out;
		}
		memcpy(note, json_string_value(nt), l + 1);
		out[n].key = "note";
		out[n].value = note;
		n++;
	}
	if (fb && !json_is_null(fb)) {
		const char *s = json_is_string(fb) ? json_string_value(fb) : "";
		const char *canon = proto_enum_find(proto_feedbacks, s, strlen(s));
		if (!canon) {
			gw_resolve_fail(detail, dlen,
					"feedback: must be " PROTO_JOIN(PROTO_FEEDBACKS) " or null");
			goto out;
		}
		out[n].key = "feedback";
		out[n].value = (char *)canon;
		n++;
	} else if (feedback_only) {
		gw_resolve_fail(detail, dlen, "feedback: required (\"right\" or \"wrong\")");
		goto out;
	}
	*nout = n;
	ok = true;
out:
	json_decref(root);
	return ok;
}
