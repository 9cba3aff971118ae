/* tr_buf: a growable byte buffer with a hard cap (see tr_buf.h). */
#include "tr_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_BUF_FIRST 256 /* first allocation, doubled as it grows */

void tr_buf_init(tr_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void tr_buf_free(tr_buf *b)
{
	size_t cap = b->cap;
	free(b->data);
	tr_buf_init(b, cap);
}

void tr_buf_reset(tr_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
	b->failed = false;
	b->too_large = false;
}

char *tr_buf_take(tr_buf *b)
{
	char *s = NULL;
	if (!b->failed) {
		s = b->data ? b->data : calloc(1, 1);
		b->data = NULL;
	}
	tr_buf_free(b);
	return s;
}

/* Makes room for more bytes and the NUL. */
static bool tr_buf_grow(tr_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (more >= b->cap || b->len + more + 1 > b->cap) {
		b->failed = b->too_large = true;
		return false;
	}
	if (b->len + more + 1 <= b->size)
		return true;
	size_t size = b->size ? b->size : TR_BUF_FIRST;
	while (size < b->len + more + 1)
		size *= 2;
	if (size > b->cap)
		size = b->cap;
	char *d = realloc(b->data, size);
	if (!d) {
		b->failed = true;
		return false;
	}
	b->data = d;
	b->size = size;
	return true;
}

bool tr_buf_add(tr_buf *b, const void *s, size_t n)
{
	if (!tr_buf_grow(b, n))
		return false;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

bool tr_buf_adds(tr_buf *b, const char *s)
{
	return tr_buf_add(b, s, strlen(s));
}

bool tr_buf_addf(tr_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return false;
	}
	if ((size_t)n < sizeof(small))
		return tr_buf_add(b, small, (size_t)n);
	if (!tr_buf_grow(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}
