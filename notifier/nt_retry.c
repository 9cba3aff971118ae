/* nt_retry: classification of delivery outcomes and the retry schedule. */
#include "nt_retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

nt_verdict nt_retry_classify(int curl_code, long http_status, char *reason, size_t len)
{
	if (curl_code != CURLE_OK) {
		if (curl_code == CURLE_OPERATION_TIMEDOUT)
			snprintf(reason, len, "timeout: the receiver did not answer in time");
		else
			snprintf(reason, len, "transport: %s", curl_easy_strerror(curl_code));
		return NT_RETRY;
	}
	if (http_status >= 200 && http_status < 300)
		return NT_SENT;
	snprintf(reason, len, "HTTP %ld", http_status);
	if (http_status >= 500 || http_status == 429 || http_status == 408)
		return NT_RETRY;
	return NT_GIVE_UP;
}

long nt_retry_delay(long attempts, long backoff_ms, long backoff_max_ms, long retry_after_ms,
		    long retry_after_max_ms)
{
	if (retry_after_ms >= 0)
		return retry_after_ms < retry_after_max_ms ? retry_after_ms : retry_after_max_ms;
	long d = backoff_ms;
	for (long i = 1; i < attempts && d < backoff_max_ms; i++)
		d *= 2;
	return d < backoff_max_ms ? d : backoff_max_ms;
}

long nt_retry_after_parse(const char *value, time_t now)
{
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return -1;
	if (isdigit((unsigned char)*value)) {
		long s = 0;
		const char *p = value;
		for (; isdigit((unsigned char)*p); p++) {
			if (s > 86400L * 365)
				return -1;
			s = s * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		return *p ? -1 : s * 1000;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	return t <= now ? 0 : (long)(t - now) * 1000;
}
