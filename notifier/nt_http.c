/* nt_http: the notifier's libcurl POST. */
#include "nt_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nt_http {
	CURL *curl;
	const atomic_bool *stop;
	long timeout_ms, connect_timeout_ms;
};

nt_http *nt_http_new(const atomic_bool *stop, long timeout_ms, long connect_timeout_ms)
{
	nt_http *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	h->stop = stop;
	h->timeout_ms = timeout_ms;
	h->connect_timeout_ms = connect_timeout_ms;
	return h;
}

void nt_http_free(nt_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static size_t nt_http_drop(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static size_t nt_http_header(char *p, size_t size, size_t n, void *arg)
{
	nt_http_answer *ans = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		size_t v = len - (sizeof name - 1);
		if (v >= sizeof ans->retry_after)
			v = sizeof ans->retry_after - 1;
		memcpy(ans->retry_after, p + sizeof name - 1, v);
		ans->retry_after[v] = '\0';
	}
	return len;
}

static int nt_http_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const atomic_bool *stop = arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return stop && atomic_load(stop) ? 1 : 0;
}

void nt_http_post(nt_http *h, const char *url, const char *body, size_t len,
		  int64_t delivery_id, const char *event, const char *signature,
		  nt_http_answer *ans)
{
	char hdr[3][128];
	struct curl_slist *headers = NULL, *l;
	memset(ans, 0, sizeof *ans);
	snprintf(hdr[0], sizeof hdr[0], "X-Triage-Delivery: %lld", (long long)delivery_id);
	snprintf(hdr[1], sizeof hdr[1], "X-Triage-Event: %s", event);
	snprintf(hdr[2], sizeof hdr[2], "X-Triage-Signature: %s", signature ? signature : "");
	const char *lines[] = {"Content-Type: application/json", "Expect:", hdr[0], hdr[1],
			       signature ? hdr[2] : NULL};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (!lines[i])
			continue;
		l = curl_slist_append(headers, lines[i]);
		if (!l) {
			ans->curl_code = CURLE_OUT_OF_MEMORY;
			goto out;
		}
		headers = l;
	}
	CURL *c = h->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "triage-notifier/1");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nt_http_drop);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, nt_http_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, ans);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, nt_http_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)h->stop);
	ans->curl_code = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
	/* a header seen on an interim answer is no promise of the final one */
	if (ans->curl_code != CURLE_OK)
		ans->retry_after[0] = '\0';
out:
	curl_slist_free_all(headers);
}
