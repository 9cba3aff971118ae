/* gw_auth: API keys and roles: configured keys checked in constant time against their
 * digests, a short-lived cache of the keys the store confirmed, key headers (Bearer,
 * Basic, X-API-KEY), random keys and the tenant namespace for idempotency keys. */
#include "gw_auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tr_err.h"

#define GW_AUTH_CACHE_SLOTS 1024 /* direct-mapped by digest: digests are uniform */

typedef struct {
	bool used;
	int64_t expires_ms;
	gw_principal p;
} gw_auth_cached;

struct gw_auth {
	size_t nkeys;
	bool dev_mode;
	long cache_ms;
	uint8_t digest[GW_AUTH_MAX_KEYS][GW_SHA256_LEN];
	pthread_mutex_t lock; /* guards cache */
	gw_auth_cached cache[GW_AUTH_CACHE_SLOTS];
};

static const char *const gw_role_names[] = {"none", "viewer", "reporter", "responder", "admin"};

const char *gw_role_name(gw_role role)
{
	return role <= GW_ROLE_ADMIN ? gw_role_names[role] : "none";
}

bool gw_role_parse(const char *s, gw_role *out)
{
	for (int r = GW_ROLE_VIEWER; r <= GW_ROLE_ADMIN; r++) {
		if (s && strcmp(s, gw_role_names[r]) == 0) {
			*out = (gw_role)r;
			return true;
		}
	}
	return false;
}

bool gw_role_allows(gw_role have, gw_role need)
{
	return need == GW_ROLE_NONE || (have != GW_ROLE_NONE && have >= need);
}

static bool gw_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int gw_auth_add(gw_auth *a, const char *s, size_t len, size_t index, bool loopback,
		       char *err, size_t errlen)
{
	if (len > GW_AUTH_KEY_MAX) {
		snprintf(err, errlen, "TRIAGE_API_KEYS: key #%zu is over %d bytes", index,
			 GW_AUTH_KEY_MAX);
		return TR_ERR_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f) {
			snprintf(err, errlen,
				 "TRIAGE_API_KEYS: key #%zu has a character that is not visible "
				 "ASCII", index);
			return TR_ERR_INVALID;
		}
	}
	if (!loopback && len < GW_AUTH_MIN_KEY_LEN) {
		snprintf(err, errlen,
			 "TRIAGE_API_KEYS: key #%zu is shorter than %d characters (allowed only "
			 "on a loopback address)", index, GW_AUTH_MIN_KEY_LEN);
		return TR_ERR_INVALID;
	}
	if (a->nkeys == GW_AUTH_MAX_KEYS) {
		snprintf(err, errlen, "TRIAGE_API_KEYS: more than %d keys", GW_AUTH_MAX_KEYS);
		return TR_ERR_INVALID;
	}
	gw_sha256(s, len, a->digest[a->nkeys++]);
	return TR_OK;
}

int gw_auth_create(const char *keys_csv, bool loopback, long cache_ms, gw_auth **out, char *err,
		   size_t errlen)
{
	gw_auth *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return TR_ERR_NOMEM;
	}
	a->cache_ms = cache_ms;
	pthread_mutex_init(&a->lock, NULL);
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
		if (e > s && gw_auth_add(a, s, (size_t)(e - s), index, loopback, err, errlen) != TR_OK)
			goto fail;
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
	gw_auth_free(a);
	return TR_ERR_INVALID;
}

void gw_auth_free(gw_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

bool gw_auth_dev_mode(const gw_auth *a)
{
	return a->dev_mode;
}

/* Trims blanks around s and copies it into key. */
static bool gw_auth_take(const char *s, size_t n, char key[GW_AUTH_KEY_MAX + 1], size_t *len)
{
	while (n > 0 && gw_is_blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && gw_is_blank(s[n - 1]))
		n--;
	if (n == 0 || n > GW_AUTH_KEY_MAX || memchr(s, '\0', n))
		return false;
	memcpy(key, s, n);
	key[n] = '\0';
	*len = n;
	return true;
}

/* "Basic base64(user:password)": the password is the key. */
static bool gw_auth_basic(const char *b64, char key[GW_AUTH_KEY_MAX + 1], size_t *len)
{
	unsigned char buf[3 * ((GW_AUTH_KEY_MAX + 300) / 4) + 3];
	size_t n = strlen(b64);
	while (n > 0 && gw_is_blank(b64[n - 1]))
		n--;
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof buf)
		return false;
	int out = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (out < 0)
		return false;
	/* EVP_DecodeBlock counts padding as zero bytes: drop them */
	if (b64[n - 1] == '=')
		out--;
	if (b64[n - 2] == '=')
		out--;
	const unsigned char *colon = memchr(buf, ':', (size_t)out);
	if (!colon)
		return false;
	size_t off = (size_t)(colon + 1 - buf);
	return gw_auth_take((const char *)buf + off, (size_t)out - off, key, len);
}

bool gw_auth_presented(const char *x_api_key, const char *authorization,
		       char key[GW_AUTH_KEY_MAX + 1], size_t *len)
{
	if (x_api_key && x_api_key[strspn(x_api_key, " \t")] != '\0')
		return gw_auth_take(x_api_key, strlen(x_api_key), key, len);
	if (!authorization)
		return false;
	const char *p = authorization;
	while (gw_is_blank(*p))
		p++;
	if (strncasecmp(p, "Bearer", 6) == 0 && gw_is_blank(p[6]))
		return gw_auth_take(p + 7, strlen(p + 7), key, len);
	if (strncasecmp(p, "Basic", 5) == 0 && gw_is_blank(p[5])) {
		p += 6;
		while (gw_is_blank(*p))
			p++;
		return gw_auth_basic(p, key, len);
	}
	return false;
}

bool gw_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static size_t gw_auth_slot(const uint8_t digest[GW_SHA256_LEN])
{
	return ((size_t)digest[0] << 8 | digest[1]) % GW_AUTH_CACHE_SLOTS;
}

gw_auth_result gw_auth_check(gw_auth *a, const char *key, size_t len, int64_t now_ms,
			     gw_principal *p)
{
	memset(p, 0, sizeof *p);
	if (len == 0 || len > GW_AUTH_KEY_MAX)
		return GW_AUTH_UNKNOWN;
	gw_sha256(key, len, p->digest);
	size_t found = 0;
	/* Every configured key is compared, whatever matched. */
	for (size_t i = 0; i < a->nkeys; i++) {
		bool eq = gw_ct_equal(p->digest, a->digest[i], GW_SHA256_LEN);
		found |= eq ? i + 1 : 0;
	}
	if (found) {
		p->role = GW_ROLE_ADMIN;
		if (a->dev_mode)
			snprintf(p->id, sizeof p->id, "dev");
		else
			snprintf(p->id, sizeof p->id, "cfg%zu", found);
		return GW_AUTH_OK;
	}
	gw_auth_result res = GW_AUTH_LOOKUP;
	pthread_mutex_lock(&a->lock);
	gw_auth_cached *c = &a->cache[gw_auth_slot(p->digest)];
	if (c->used && c->expires_ms > now_ms &&
	    gw_ct_equal(c->p.digest, p->digest, GW_SHA256_LEN)) {
		*p = c->p;
		res = GW_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return res;
}

void gw_auth_remember(gw_auth *a, const gw_principal *p, int64_t now_ms)
{
	if (a->cache_ms <= 0)
		return;
	pthread_mutex_lock(&a->lock);
	gw_auth_cached *c = &a->cache[gw_auth_slot(p->digest)];
	c->used = true;
	c->expires_ms = now_ms + a->cache_ms;
	c->p = *p;
	pthread_mutex_unlock(&a->lock);
}

void gw_auth_fingerprint(const uint8_t digest[GW_SHA256_LEN], char out[9])
{
	gw_hex(digest, 4, out);
}

bool gw_auth_new_key(char out[GW_KEY_TEXT_LEN + 1])
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[33];
	if (RAND_bytes(raw, 32) != 1)
		return false;
	raw[32] = 0;
	memcpy(out, "trk_", 4);
	/* 32 bytes -> 43 characters of 6 bits (the last one carries 2 bits) */
	for (size_t i = 0, o = 4; i < 32; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
			     (i + 2 < 33 ? raw[i + 2] : 0);
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		if (o < GW_KEY_TEXT_LEN)
			out[o++] = b64url[v >> 6 & 63];
		if (o < GW_KEY_TEXT_LEN)
			out[o++] = b64url[v & 63];
	}
	out[GW_KEY_TEXT_LEN] = '\0';
	return true;
}

void gw_auth_idempotency_key(const uint8_t tenant[GW_SHA256_LEN], const char *idem, size_t len,
			     char out[2 * GW_SHA256_LEN + 1])
{
	const void *parts[] = {"triage-idempotency\0", tenant, idem};
	size_t lens[] = {19, GW_SHA256_LEN, len};
	uint8_t d[GW_SHA256_LEN];
	gw_sha256_v(3, parts, lens, d);
	gw_hex(d, GW_SHA256_LEN, out);
}
