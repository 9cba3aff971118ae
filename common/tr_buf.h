/* tr_buf: the one growable byte buffer with a hard cap (after curl's dynbuf), for text
 * built from untrusted or unbounded input. Appends past the cap, or out of memory, fail
 * and mark the buffer failed: every later append fails too, so a caller may append
 * several pieces and check once. The bytes stay NUL-terminated (data is NULL until the
 * first append).
 *
 * Ownership: the buffer owns data; tr_buf_free releases it, tr_buf_take hands it to the
 * caller (who frees it with free()). Not thread-safe: one owner at a time. */
#ifndef TR_BUF_H
#define TR_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
	char *data;  /* NUL-terminated content, or NULL while empty */
	size_t len;  /* content bytes */
	size_t size; /* allocated bytes */
	size_t cap;  /* most bytes ever allocated, the NUL included: len < cap */
	bool failed; /* an append was refused (cap or memory) */
	bool too_large; /* ... because of the cap */
} tr_buf;

/* An empty buffer that holds at most cap - 1 bytes (cap >= 1). */
void tr_buf_init(tr_buf *b, size_t cap);

/* Frees the content; the buffer is empty (cap kept, failed cleared) and may be reused. */
void tr_buf_free(tr_buf *b);

/* Empties the buffer, keeping its memory, and clears failed. */
void tr_buf_reset(tr_buf *b);

/* The content (the caller frees it), "" if nothing was appended, or NULL if an append
 * failed or memory ran out. The buffer is left empty either way. */
char *tr_buf_take(tr_buf *b);

/* Appends n bytes of s (s may hold NULs). False (and failed set) past the cap or out of
 * memory; nothing is appended then. */
bool tr_buf_add(tr_buf *b, const void *s, size_t n);
bool tr_buf_adds(tr_buf *b, const char *s);
bool tr_buf_addf(tr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
