/* store_json: bounded text buffers, JSON strings, PostgreSQL array literals, UTF-8
 * checks and base64url, the text the store builds in C. */
#include "store_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_call.h"
#include "tr_err.h"
#include "tr_utf8.h"

bool store_buf_json_str(store_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (!store_buf_add(b, "\"", 1))
		return false;
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		store_buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		switch (c) {
		case '"': store_buf_add(b, "\\\"", 2); break;
		case '\\': store_buf_add(b, "\\\\", 2); break;
		case '\n': store_buf_add(b, "\\n", 2); break;
		case '\r': store_buf_add(b, "\\r", 2); break;
		case '\t': store_buf_add(b, "\\t", 2); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			store_buf_add(b, u, 6);
		}
		}
	}
	store_buf_add(b, run, strlen(run));
	return store_buf_add(b, "\"", 1);
}

void store_buf_array_open(store_buf *b)
{
	store_buf_add(b, "{", 1);
}

void store_buf_array_item(store_buf *b, const char *s)
{
	if (b->len > 0 && b->data[b->len - 1] != '{')
		store_buf_add(b, ",", 1);
	if (!s) {
		store_buf_add(b, "NULL", 4);
		return;
	}
	store_buf_add(b, "\"", 1);
	const char *run = s;
	for (;;) {
		size_t plain = strcspn(run, "\"\\");
		store_buf_add(b, run, plain);
		if (!run[plain])
			break;
		/* a quote or backslash: escaped with a backslash */
		store_buf_add(b, "\\", 1);
		store_buf_add(b, run + plain, 1);
		run += plain + 1;
	}
	store_buf_add(b, "\"", 1);
}

void store_buf_array_close(store_buf *b)
{
	store_buf_add(b, "}", 1);
}

char *store_json_error(int code, const char *detail)
{
	store_buf b;
	store_buf_init(&b, 4096);
	store_buf_adds(&b, "{\"error\":");
	store_buf_json_str(&b, tr_err_http_name(code));
	store_buf_adds(&b, ",\"detail\":");
	store_buf_json_str(&b, detail ? detail : tr_strerror(code));
	store_buf_adds(&b, "}");
	return store_buf_take(&b);
}

bool store_utf8_check(const char *s, size_t len, size_t *chars)
{
	return memchr(s, 0, len) == NULL && tr_utf8_valid(s, len, chars, NULL);
}

static const char store_b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool store_b64url_encode(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t need = (len * 4 + 2) / 3;
	if (need + 1 > outlen)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = store_b64url[(v >> 18) & 63];
		out[o++] = store_b64url[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = store_b64url[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = store_b64url[v & 63];
	}
	out[o] = '\0';
	return true;
}

long store_b64url_decode(const char *in, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t n = strlen(in), olen = 0;
	if (n % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *hit = in[i] ? strchr(store_b64url, in[i]) : NULL;
		if (!hit)
			return -1;
		acc = (acc << 6) | (uint32_t)(hit - store_b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (olen == outlen)
				return -1;
			o[olen++] = (unsigned char)((acc >> bits) & 0xFF);
		}
	}
	/* the leftover bits must be zero (a canonical encoding) */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)olen;
}
