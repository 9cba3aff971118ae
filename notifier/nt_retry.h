/* nt_retry: what a delivery's outcome means (sent, retry later, give up) and when to
 * try again: capped exponential backoff, or the receiver's Retry-After. Pure. */
#ifndef NT_RETRY_H
#define NT_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum {
	NT_SENT = 0,  /* a 2xx */
	NT_RETRY,     /* 5xx, 429, 408, timeout, connection refused or reset */
	NT_GIVE_UP,   /* any other answer (3xx, 4xx): retrying will not help */
} nt_verdict;

/* curl_code is a CURLcode (0: the exchange completed with http_status). Writes a one-
 * line reason ("HTTP 500", "timeout after 10000 ms", ...) for anything but NT_SENT. */
nt_verdict nt_retry_classify(int curl_code, long http_status, char *reason, size_t len);

/* The delay before attempt `attempts + 1`: backoff_ms * 2^(attempts-1) capped at
 * backoff_max_ms; a Retry-After (retry_after_ms >= 0) replaces it, capped at
 * retry_after_max_ms. */
long nt_retry_delay(long attempts, long backoff_ms, long backoff_max_ms, long retry_after_ms,
		    long retry_after_max_ms);

/* A Retry-After header value, delta-seconds or an HTTP-date (relative to now), in ms;
 * -1 if it is neither. A date in the past is 0. */
long nt_retry_after_parse(const char *value, time_t now);

#endif
