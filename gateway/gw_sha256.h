/* gw_sha256: SHA-256 through OpenSSL's libcrypto (no hash of our own), for hashing API
 * keys (key lookups, constant-time checks, tenant namespaces for idempotency keys). */
#ifndef GW_SHA256_H
#define GW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define GW_SHA256_LEN 32

/* One-shot digest of len bytes at data. */
void gw_sha256(const void *data, size_t len, uint8_t out[GW_SHA256_LEN]);

/* Digest of the concatenation of n pieces (data[i], len[i]). */
void gw_sha256_v(size_t n, const void *const *data, const size_t *len,
		 uint8_t out[GW_SHA256_LEN]);

/* Writes 2*len lower-case hex digits and a NUL into out (2*len+1 bytes). */
void gw_hex(const uint8_t *in, size_t len, char *out);

/* Parses exactly 2*len hex digits (either case) into out. False on anything else. */
int gw_unhex(const char *in, uint8_t *out, size_t len);

#endif
