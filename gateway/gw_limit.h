/* gw_limit: per-name limits for the front door: token buckets (requests per second
 * per key or per address, failed keys per address) and counters of requests in flight
 * per address. A table of a fixed number of names; when it is full the least recently
 * seen idle name is forgotten (a forgotten name starts with a full bucket, which only
 * ever errs towards letting a client through). Thread-safe (one lock per table). */
#ifndef GW_LIMIT_H
#define GW_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_LIMIT_NAME_MAX 48

typedef struct gw_limit gw_limit;

/* rate: tokens per second (0: this limit is off; every take succeeds); burst: the
 * bucket's size. slots: names remembered. NULL when out of memory. Free with
 * gw_limit_free. */
gw_limit *gw_limit_new(double rate, double burst, size_t slots);
void gw_limit_free(gw_limit *l);

/* Takes one token for name. 0: taken; otherwise nothing was taken and the result is
 * the whole seconds until a token is there (for Retry-After, at least 1). */
long gw_limit_take(gw_limit *l, const char *name, int64_t now_ms);

/* Like take, but only looks: 0 when a token is there. */
long gw_limit_peek(gw_limit *l, const char *name, int64_t now_ms);

/* In-flight counting: acquire adds one to name's count unless it is already max
 * (then false); release takes one away. Names with a count are never forgotten. */
bool gw_limit_acquire(gw_limit *l, const char *name, long max);
void gw_limit_release(gw_limit *l, const char *name);

#endif
