/* nt_http: one delivery over HTTP: a JSON POST with the delivery's headers on a
 * per-thread libcurl handle (kept alive between deliveries), the answer's status and
 * Retry-After, the body read and dropped. No redirects are followed. */
#ifndef NT_HTTP_H
#define NT_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nt_http nt_http;

/* stop (may be NULL) is polled during transfers: once true, the transfer in progress
 * ends (CURLE_ABORTED_BY_CALLBACK). It must outlive the client. NULL when out of memory.
 * curl_global_init() must have run. One client per thread. */
nt_http *nt_http_new(const atomic_bool *stop, long timeout_ms, long connect_timeout_ms);
void nt_http_free(nt_http *h);

typedef struct {
	int curl_code;       /* CURLcode; 0: the exchange completed */
	long status;         /* the HTTP status (0 if none) */
	char retry_after[64]; /* the Retry-After header's value ("" if none) */
} nt_http_answer;

/* POSTs body to url with Content-Type application/json, X-Triage-Delivery,
 * X-Triage-Event and, if signature is not NULL, X-Triage-Signature. */
void nt_http_post(nt_http *h, const char *url, const char *body, size_t len,
		  int64_t delivery_id, const char *event, const char *signature,
		  nt_http_answer *ans);

#endif
