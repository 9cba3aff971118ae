/* store_json: the little JSON and SQL-literal text the store builds in C (most JSON is
 * built by PostgreSQL, see sql/002_store.sql): a growable buffer with a hard cap,
 * JSON string escaping, PostgreSQL array literals, error bodies, base64url. */
#ifndef STORE_JSON_H
#define STORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_buf.h"

/* The store's text buffer is common/'s tr_buf (capped, NUL-terminated; see tr_buf.h).
 * The store_buf names stay as aliases so the store's many call sites read as before. */
typedef tr_buf store_buf;
#define store_buf_init tr_buf_init
#define store_buf_free tr_buf_free
#define store_buf_take tr_buf_take
#define store_buf_add tr_buf_add
#define store_buf_adds tr_buf_adds
#define store_buf_addf tr_buf_addf

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
