/* gw_auth: API key checks in constant time against stored digests, and the tenant
 * namespace for idempotency keys. */
#include "gw_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tr_err.h"

struct gw_auth {
	size_t nkeys;
	bool dev_mode;
	uint8_t digest[GW_AUTH_MAX_KEYS][GW_SHA256_LEN];
};

static bool gw_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int gw_auth_create(const char *keys_csv, bool loopback, gw_auth **out, char *err, size_t errlen)
{
	gw_auth *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return TR_ERR_NOMEM;
	}
	const char *p = keys_csv ? keys_csv : "";
	size_t index = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *s = p;
		while (s < end && gw_is_blank(*s))
			s++;
		const char *e = end;
		while (e > s && gw_is_blank(e[-1]))
			e--;
		index++;
		if (e > s) {
			size_t len = (size_t)(e - s);
			if (len > GW_AUTH_KEY_MAX) {
				snprintf(err, errlen, "TRIAGE_API_KEYS: key #%zu is over %d bytes",
					 index, GW_AUTH_KEY_MAX);
				goto fail;
			}
			for (size_t i = 0; i < len; i++) {
				unsigned char c = (unsigned char)s[i];
				if (c <= 0x20 || c >= 0x7f) {
					snprintf(err, errlen,
						 "TRIAGE_API_KEYS: key #%zu has a character that is "
						 "not visible ASCII", index);
					goto fail;
				}
			}
			if (a->nkeys == GW_AUTH_MAX_KEYS) {
				snprintf(err, errlen, "TRIAGE_API_KEYS: more than %d keys",
					 GW_AUTH_MAX_KEYS);
				goto fail;
			}
			gw_sha256(s, len, a->digest[a->nkeys++]);
		}
		p = comma ? comma + 1 : end;
	}
	if (a->nkeys == 0) {
		if (!loopback) {
			snprintf(err, errlen,
				 "no API key configured: set TRIAGE_API_KEYS (the development key "
				 "is accepted only on a loopback address)");
			goto fail;
		}
		a->dev_mode = true;
		gw_sha256(GW_AUTH_DEV_KEY, strlen(GW_AUTH_DEV_KEY), a->digest[a->nkeys++]);
	}
	*out = a;
	return TR_OK;
fail:
	free(a);
	return TR_ERR_INVALID;
}

void gw_auth_free(gw_auth *a)
{
	free(a);
}

bool gw_auth_dev_mode(const gw_auth *a)
{
	return a->dev_mode;
}

bool gw_auth_presented(const char *x_api_key, const char *authorization, const char **key,
		       size_t *len)
{
	const char *s = NULL;
	if (x_api_key && x_api_key[strspn(x_api_key, " \t")] != '\0') {
		s = x_api_key;
	} else if (authorization) {
		const char *p = authorization;
		while (gw_is_blank(*p))
			p++;
		if (strncasecmp(p, "Bearer", 6) != 0 || !gw_is_blank(p[6]))
			return false;
		s = p + 7;
	} else {
		return false;
	}
	while (gw_is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && gw_is_blank(s[n - 1]))
		n--;
	if (n == 0)
		return false;
	*key = s;
	*len = n;
	return true;
}

bool gw_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

bool gw_auth_check(const gw_auth *a, const char *key, size_t len, uint8_t tenant[GW_SHA256_LEN])
{
	if (len == 0 || len > GW_AUTH_KEY_MAX)
		return false;
	uint8_t d[GW_SHA256_LEN];
	gw_sha256(key, len, d);
	bool found = false;
	/* Every configured key is compared, whatever matched. */
	for (size_t i = 0; i < a->nkeys; i++)
		found |= gw_ct_equal(d, a->digest[i], GW_SHA256_LEN);
	if (found)
		memcpy(tenant, d, GW_SHA256_LEN);
	return found;
}

void gw_auth_idempotency_key(const uint8_t tenant[GW_SHA256_LEN], const char *idem, size_t len,
			     char out[2 * GW_SHA256_LEN + 1])
{
	gw_sha256_ctx c;
	uint8_t d[GW_SHA256_LEN];
	gw_sha256_init(&c);
	gw_sha256_update(&c, "triage-idempotency\0", 19);
	gw_sha256_update(&c, tenant, GW_SHA256_LEN);
	gw_sha256_update(&c, idem, len);
	gw_sha256_final(&c, d);
	gw_hex(d, GW_SHA256_LEN, out);
}

static int gw_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool gw_auth_basic(const char *authorization, char *buf, size_t buflen, const char **key,
		   size_t *len)
{
	if (!authorization)
		return false;
	const char *p = authorization;
	while (gw_is_blank(*p))
		p++;
	if (strncasecmp(p, "Basic", 5) != 0 || !gw_is_blank(p[5]))
		return false;
	p += 6;
	while (gw_is_blank(*p))
		p++;
	size_t n = 0, bits = 0;
	uint32_t acc = 0;
	for (; *p && !gw_is_blank(*p) && *p != '='; p++) {
		int v = gw_b64val(*p);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= buflen)
				return false;
			buf[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*p == '=')
		p++;
	while (gw_is_blank(*p))
		p++;
	if (*p)
		return false;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return false; /* a NUL inside */
	char *colon = memchr(buf, ':', n);
	if (!colon || colon + 1 == buf + n)
		return false;
	*key = colon + 1;
	*len = (size_t)(buf + n - (colon + 1));
	return true;
}
