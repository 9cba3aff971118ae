/* gw_auth: API keys. Keys are kept only as SHA-256 digests and compared in constant
 * time; a presented key is read from X-API-KEY or "Authorization: Bearer <key>".
 * Nothing here logs a key. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_sha256.h"

#define GW_AUTH_DEV_KEY "secret123"
#define GW_AUTH_MAX_KEYS 64
#define GW_AUTH_KEY_MAX 255

typedef struct gw_auth gw_auth;

/* Builds the key set from a comma-separated list (blanks around keys trimmed). With no
 * key configured, the development key is accepted if loopback is true; otherwise the
 * call fails (the gateway must not start open to the network). Keys must be 1..255
 * bytes of visible ASCII. On failure err says why (never quoting a key).
 * The caller frees *out with gw_auth_free(). */
int gw_auth_create(const char *keys_csv, bool loopback, gw_auth **out, char *err, size_t errlen);
void gw_auth_free(gw_auth *a);

/* True when only the development key is accepted. */
bool gw_auth_dev_mode(const gw_auth *a);

/* Finds the presented key: X-API-KEY if present and not blank (either may be NULL),
 * else the token of "Authorization: Bearer <token>" (scheme case-insensitive). *key
 * points into the header value (not NUL-terminated at *len if trailing blanks were
 * trimmed). Returns false when no key was presented. */
bool gw_auth_presented(const char *x_api_key, const char *authorization, const char **key,
		       size_t *len);

/* "Authorization: Basic <base64 of user:password>" (what Grafana and Alertmanager's
 * basic_auth send): the password is the key, the user name is ignored. Decodes into
 * buf (buflen bytes; GW_AUTH_BASIC_BUF is enough for any valid key); *key points at
 * the password inside buf. False when the header is not a well-formed Basic
 * credential with a non-empty password. */
#define GW_AUTH_BASIC_BUF 1024
bool gw_auth_basic(const char *authorization, char *buf, size_t buflen, const char **key,
		   size_t *len);

/* Checks a presented key against every configured key in constant time (the work does
 * not depend on which key matched, or on where the first differing byte is). On success
 * writes the key's digest to tenant (the caller's namespace for idempotency keys). */
bool gw_auth_check(const gw_auth *a, const char *key, size_t len, uint8_t tenant[GW_SHA256_LEN]);

/* Constant-time equality of n bytes. */
bool gw_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* The idempotency key sent to the store: 64 hex digits of SHA-256 over the tenant
 * digest and the client's Idempotency-Key, so two API keys' idempotency keys never
 * collide and the result always fits PROTO_SHORT_MAX. out: 65 bytes. */
void gw_auth_idempotency_key(const uint8_t tenant[GW_SHA256_LEN], const char *idem, size_t len,
			     char out[2 * GW_SHA256_LEN + 1]);

#endif
