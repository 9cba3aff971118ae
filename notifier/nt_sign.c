/* nt_sign: HMAC-SHA256 through libcrypto; never a hand-written hash. */
#include "nt_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

int nt_sign(const char *secret, const char *body, size_t len, char out[NT_SIGN_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len,
		  mac, &maclen) ||
	    maclen != 32)
		return -1;
	memcpy(out, "sha256=", 7);
	for (unsigned int i = 0; i < maclen; i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[7 + 2 * i + 1] = hex[mac[i] & 15];
	}
	out[7 + 64] = '\0';
	return 0;
}
