/* fuzz_gw_validate: the gateway's request validator (bodies, query parameters, ids,
 * headers, URL unescaping). The first byte picks the function; the rest is the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_validate.h"

/* Splits a=b&c=d into parameters, as the HTTP layer hands them over. */
static void fuzz_params(char *text)
{
	gw_param in[PROTO_PARAMS_MAX * 2];
	proto_kv out[PROTO_PARAMS_MAX];
	size_t n = 0, nout = 0;
	char detail[GW_DETAIL_MAX];
	for (char *save = NULL, *tok = strtok_r(text, "&", &save); tok && n < PROTO_PARAMS_MAX * 2;
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		in[n++] = (gw_param){tok, eq, eq ? strlen(eq) : 0};
	}
	gw_validate_list_params(in, n, out, &nout, detail, sizeof detail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char detail[GW_DETAIL_MAX];
	char *text = malloc(len + 1); /* NUL-terminated copy for the string functions */
	if (!text)
		return 0;
	memcpy(text, body, len);
	text[len] = '\0';
	switch (data[0] % 7) {
	case 0: {
		gw_submit_body b;
		if (gw_validate_submit(body, len, &b, detail, sizeof detail))
			gw_submit_body_free(&b);
		break;
	}
	case 1: {
		proto_kv out[2];
		size_t n = 0;
		gw_validate_override(body, len, out, &n, detail, sizeof detail);
		break;
	}
	case 2: {
		char model[GW_MODEL_MAX + 1];
		gw_validate_settings(body, len, model, detail, sizeof detail);
		break;
	}
	case 3: fuzz_params(text); break;
	case 4: {
		int64_t id;
		gw_parse_id(body, len, &id);
		break;
	}
	case 5: gw_url_unescape(text); break;
	case 6: gw_validate_idempotency_key(text, detail, sizeof detail); break;
	}
	free(text);
	return 0;
}
