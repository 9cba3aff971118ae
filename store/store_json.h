/* store_json: the little JSON and SQL-literal text the store builds in C (most JSON is
 * built by PostgreSQL, see sql/002_store.sql): a growable buffer with a hard cap,
 * JSON string escaping, PostgreSQL array literals, error bodies, base64url. */
#ifndef STORE_JSON_H
#define STORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable text buffer. Appends fail (and set failed) past cap or out of memory; the
 * text stays NUL-terminated. Free with store_buf_free; take the text with
 * store_buf_take (the caller frees it; NULL if failed). */
typedef struct {
	char *data;
	size_t len, size, cap;
	bool failed;
} store_buf;

void store_buf_init(store_buf *b, size_t cap);
void store_buf_free(store_buf *b);
char *store_buf_take(store_buf *b);
bool store_buf_add(store_buf *b, const char *s, size_t n);
bool store_buf_adds(store_buf *b, const char *s);
bool store_buf_addf(store_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s as a JSON string with quotes (control characters escaped). */
bool store_buf_json_str(store_buf *b, const char *s);

/* Array literal elements for PostgreSQL ('{"a","b",NULL}'): store_buf_array_open, then
 * store_buf_array_item for each (NULL = SQL NULL), then store_buf_array_close. */
void store_buf_array_open(store_buf *b);
void store_buf_array_item(store_buf *b, const char *s);
void store_buf_array_close(store_buf *b);

/* A malloc'd {"error":..., "detail":...}; NULL if out of memory. */
char *store_json_error(int code, const char *detail);

/* True if s is text PostgreSQL can hold: valid UTF-8 without NUL; *chars receives its
 * count of code points. */
bool store_utf8_check(const char *s, size_t len, size_t *chars);

/* base64url without padding. Encode writes at most outlen-1 chars + NUL; returns false
 * if it does not fit. Decode returns the byte count or -1 on an invalid input. */
bool store_b64url_encode(const void *in, size_t len, char *out, size_t outlen);
long store_b64url_decode(const char *in, void *out, size_t outlen);

#endif
