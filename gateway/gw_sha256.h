/* gw_sha256: SHA-256 (FIPS 180-4), small and dependency-free, for hashing API keys
 * (constant-time key checks, tenant namespaces for idempotency keys). */
#ifndef GW_SHA256_H
#define GW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define GW_SHA256_LEN 32

typedef struct {
	uint32_t h[8];
	uint64_t nbytes;
	uint8_t buf[64];
	size_t nbuf;
} gw_sha256_ctx;

void gw_sha256_init(gw_sha256_ctx *c);
void gw_sha256_update(gw_sha256_ctx *c, const void *data, size_t len);
void gw_sha256_final(gw_sha256_ctx *c, uint8_t out[GW_SHA256_LEN]);

/* One-shot digest of len bytes at data. */
void gw_sha256(const void *data, size_t len, uint8_t out[GW_SHA256_LEN]);

/* Writes 2*len lower-case hex digits and a NUL into out (2*len+1 bytes). */
void gw_hex(const uint8_t *in, size_t len, char *out);

#endif
