/* gw_sha256: SHA-256 via libcrypto's EVP interface, and hex conversion. A failure of
 * libcrypto here is an allocation failure inside OpenSSL: the process aborts rather
 * than compare keys against an undefined digest. */
#include "gw_sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

void gw_sha256_v(size_t n, const void *const *data, const size_t *len,
		 uint8_t out[GW_SHA256_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, data[i], len[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(c, out, &outlen) == 1 && outlen == GW_SHA256_LEN;
	EVP_MD_CTX_free(c);
	if (!ok) {
		fprintf(stderr, "gw_sha256: libcrypto failed (out of memory?)\n");
		abort();
	}
}

void gw_sha256(const void *data, size_t len, uint8_t out[GW_SHA256_LEN])
{
	gw_sha256_v(1, &data, &len, out);
}

void gw_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int gw_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gw_unhex(const char *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = gw_nibble(in[2 * i]);
		int lo = hi < 0 ? -1 : gw_nibble(in[2 * i + 1]);
		if (lo < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * len] == '\0';
}
