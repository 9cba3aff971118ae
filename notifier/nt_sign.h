/* nt_sign: the webhook signature, HMAC-SHA256 of the exact body bytes with the
 * channel's secret (OpenSSL libcrypto), as the header value "sha256=<64 hex>". */
#ifndef NT_SIGN_H
#define NT_SIGN_H

#include <stddef.h>

#define NT_SIGN_LEN (7 + 64 + 1) /* "sha256=" + hex + NUL */

/* Writes the header value into out. Returns 0, or -1 if libcrypto failed. */
int nt_sign(const char *secret, const char *body, size_t len, char out[NT_SIGN_LEN]);

#endif
