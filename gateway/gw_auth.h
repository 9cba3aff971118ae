/* gw_auth: API keys and roles. A key is known by its SHA-256 digest only: keys from
 * configuration (TRIAGE_API_KEYS, role admin) are compared in constant time; keys
 * made through the API or triage-keys live hashed in PostgreSQL, are looked up through
 * the store by the caller and cached here for a short time (cache_ms), which bounds
 * how long a revoked key keeps working. Nothing here logs or keeps a key's text.
 * Thread-safe: the cache has its own lock; everything else is read-only after create. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_sha256.h"

#define GW_AUTH_DEV_KEY "secret123"
#define GW_AUTH_MAX_KEYS 64
#define GW_AUTH_KEY_MAX 255
#define GW_AUTH_MIN_KEY_LEN 24 /* shorter keys are refused off loopback */
#define GW_KEY_ID_MAX 24
#define GW_KEY_TEXT_LEN 47 /* "trk_" + 43 base64url characters of 32 random bytes */

/* Roles in order: each includes what the ones before it may do. */
typedef enum {
	GW_ROLE_NONE = 0, /* no key needed */
	GW_ROLE_VIEWER,	  /* read, live stream */
	GW_ROLE_REPORTER, /* + submit incidents and integration events */
	GW_ROLE_RESPONDER, /* + acknowledge, resolve, override, retriage */
	GW_ROLE_ADMIN,	  /* + keys and settings */
} gw_role;

const char *gw_role_name(gw_role role);
/* Parses "viewer" ... "admin". False on anything else. */
bool gw_role_parse(const char *s, gw_role *out);
/* True when a key with role have may use a route that needs role need. */
bool gw_role_allows(gw_role have, gw_role need);

/* Who made a request: the key's role, its id for logs ("cfg1" for the first key of
 * TRIAGE_API_KEYS, "dev" for the development key, "k17" for key 17 of the store) and
 * its digest (the tenant namespace for idempotency keys, and the store's lookup key). */
typedef struct {
	gw_role role;
	char id[GW_KEY_ID_MAX];
	uint8_t digest[GW_SHA256_LEN];
} gw_principal;

typedef struct gw_auth gw_auth;

/* Builds the key set from a comma-separated list (blanks around keys trimmed); every
 * configured key is an admin (the bootstrap key). With no key configured, the
 * development key is accepted if loopback is true; otherwise the call fails. Off
 * loopback, a key shorter than GW_AUTH_MIN_KEY_LEN fails the call. Keys must be
 * 1..255 bytes of visible ASCII. cache_ms: how long a key the store confirmed is
 * trusted without asking again. On failure err says why (never quoting a key). The
 * caller frees *out with gw_auth_free(). */
int gw_auth_create(const char *keys_csv, bool loopback, long cache_ms, gw_auth **out, char *err,
		   size_t errlen);
void gw_auth_free(gw_auth *a);

/* True when only the development key is accepted. */
bool gw_auth_dev_mode(const gw_auth *a);

/* Finds the presented key: X-API-KEY if present and not blank (either may be NULL),
 * else "Authorization: Bearer <key>", else "Authorization: Basic <base64 user:key>"
 * (the password is the key; Grafana sends this). Copies the key into key (NUL-
 * terminated, GW_AUTH_KEY_MAX + 1 bytes) and its length into *len. False when no
 * usable key was presented. */
bool gw_auth_presented(const char *x_api_key, const char *authorization,
		       char key[GW_AUTH_KEY_MAX + 1], size_t *len);

typedef enum {
	GW_AUTH_OK,	 /* *p is filled in */
	GW_AUTH_UNKNOWN, /* not a key at all (too long) */
	GW_AUTH_LOOKUP,	 /* not configured and not cached: ask the store with p->digest */
} gw_auth_result;

/* Checks a presented key: configured keys in constant time (the work does not depend
 * on which key matched), then the cache. Always writes p->digest. */
gw_auth_result gw_auth_check(gw_auth *a, const char *key, size_t len, int64_t now_ms,
			     gw_principal *p);

/* Caches what the store said about p->digest (its role and id) until now + cache_ms. */
void gw_auth_remember(gw_auth *a, const gw_principal *p, int64_t now_ms);

/* The first 8 hex digits of a digest, for log lines about keys nobody knows. */
void gw_auth_fingerprint(const uint8_t digest[GW_SHA256_LEN], char out[9]);

/* A new random key (RAND_bytes): GW_KEY_TEXT_LEN characters and a NUL. False if the
 * random generator failed. */
bool gw_auth_new_key(char out[GW_KEY_TEXT_LEN + 1]);

/* Constant-time equality of n bytes. */
bool gw_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* The idempotency key sent to the store: 64 hex digits of SHA-256 over the tenant
 * digest and the client's Idempotency-Key, so two API keys' idempotency keys never
 * collide and the result always fits PROTO_SHORT_MAX. out: 65 bytes. */
void gw_auth_idempotency_key(const uint8_t tenant[GW_SHA256_LEN], const char *idem, size_t len,
			     char out[2 * GW_SHA256_LEN + 1]);

#endif
