/* gw_keys: key-management requests and answers (validation, store queries, showing a
 * new key once, reading key lookups). */
#include "gw_keys.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void gw_keys_query(gw_store_request *out, int op)
{
	out->msg.type = PROTO_QUERY;
	out->msg.u.query.request_id = out->request_id;
	out->msg.u.query.op = op;
}

static bool gw_keys_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > GW_KEY_NAME_MAX)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr(" ._@-", c)))
			return false;
	}
	return true;
}

static bool gw_keys_create(const gw_http_input *in, gw_store_request *out, size_t *n,
			   char *detail, size_t dlen)
{
	json_error_t jerr;
	bool ok = false;
	gw_role role;
	json_t *root = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		snprintf(detail, dlen, "body: must be a JSON object {\"name\", \"role\"}");
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) {
		if (strcmp(k, "name") != 0 && strcmp(k, "role") != 0) {
			snprintf(detail, dlen, "%.64s: unknown field", k);
			goto out;
		}
	}
	const char *name = json_string_value(json_object_get(root, "name"));
	const char *rs = json_string_value(json_object_get(root, "role"));
	if (!name || !gw_keys_name_ok(name)) {
		snprintf(detail, dlen,
			 "name: must be 1-%d characters of letters, digits, space and . _ @ -",
			 GW_KEY_NAME_MAX);
		goto out;
	}
	if (!rs || !gw_role_parse(rs, &role)) {
		snprintf(detail, dlen, "role: must be viewer, reporter, responder or admin");
		goto out;
	}
	if (!in->new_key) {
		snprintf(detail, dlen, "key: none was made");
		goto out;
	}
	uint8_t d[GW_SHA256_LEN];
	gw_sha256(in->new_key, strlen(in->new_key), d);
	gw_hex(d, GW_SHA256_LEN, out->key_digest);
	snprintf(out->key_name, sizeof out->key_name, "%s", name);
	out->params[0].key = "name";
	out->params[0].value = out->key_name;
	out->params[1].key = "role";
	out->params[1].value = (char *)gw_role_name(role);
	out->params[2].key = "digest";
	out->params[2].value = out->key_digest;
	*n = 3;
	gw_keys_query(out, PROTO_OP_KEY_CREATE);
	ok = true;
out:
	json_decref(root);
	return ok;
}

bool gw_keys_build(const gw_match *m, const gw_http_input *in, gw_store_request *out, size_t *n,
		   char *detail, size_t dlen)
{
	*n = 0;
	if (m->id == GW_R_KEY) {
		snprintf(out->key_id, sizeof out->key_id, "%" PRId64, m->incident_id);
		out->params[0].key = "id";
		out->params[0].value = out->key_id;
		*n = 1;
		gw_keys_query(out, PROTO_OP_KEY_REVOKE);
		return true;
	}
	if (in->method == GW_M_POST)
		return gw_keys_create(in, out, n, detail, dlen);
	gw_keys_query(out, PROTO_OP_KEY_LIST);
	return true;
}

char *gw_keys_with_key(const char *json, const char *key)
{
	json_t *root = json_loads(json, 0, NULL);
	char *s = NULL;
	if (root && json_is_object(root) && json_object_set_new(root, "key", json_string(key)) == 0)
		s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

bool gw_keys_parse_lookup(const char *json, gw_principal *p)
{
	json_t *root = json ? json_loads(json, 0, NULL) : NULL;
	bool ok = false;
	json_t *id = json_object_get(root, "id");
	const char *role = json_string_value(json_object_get(root, "role"));
	if (json_is_integer(id) && json_integer_value(id) > 0 && gw_role_parse(role, &p->role)) {
		snprintf(p->id, sizeof p->id, "k%" JSON_INTEGER_FORMAT, json_integer_value(id));
		ok = true;
	}
	json_decref(root);
	return ok;
}
