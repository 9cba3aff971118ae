/* tr_utf8: the one UTF-8 decoder of the project. Strict: overlong forms, surrogates,
 * code points above U+10FFFF and truncated sequences are invalid. */
#ifndef TR_UTF8_H
#define TR_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 sequence at p, with n > 0 bytes available, or 0 if it
 * is invalid. *cp receives the code point when cp is not NULL. */
size_t tr_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* True if s[0..len) is valid UTF-8 (U+0000 included). On success *chars (if not NULL)
 * receives the number of code points; on failure *bad_at (if not NULL) receives the
 * offset of the first invalid sequence. */
bool tr_utf8_valid(const char *s, size_t len, size_t *chars, size_t *bad_at);

#endif
