/* llm_http: JSON over HTTP for the LLM backends, on one libcurl easy handle per thread
 * (connections are kept alive and reused), with every failure classified once, here. */
#include "llm_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tr_buf.h"
#include "tr_log.h"
#include "triage.h"

struct llm_http {
	CURL *curl;
	const atomic_bool *abort_flag;
	tr_buf reply; /* the reply body, capped at LLM_HTTP_REPLY_MAX */
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	llm_http *h = arg;
	size_t n = size * nmemb;
	/* 0 ends the transfer with CURLE_WRITE_ERROR (reply.too_large says why) */
	return tr_buf_add(&h->reply, ptr, n) ? n : 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	const llm_http *h = arg;
	return (h->abort_flag && atomic_load(h->abort_flag)) ? 1 : 0;
}

llm_http *llm_http_new(const atomic_bool *abort_flag)
{
	llm_http *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	h->abort_flag = abort_flag;
	tr_buf_init(&h->reply, LLM_HTTP_REPLY_MAX);
	return h;
}

void llm_http_free(llm_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	tr_buf_free(&h->reply);
	free(h);
}

/* The server's message from an error body: {"error":"..."} or {"error":{"message":..}}. */
static void server_message(const char *body, size_t len, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!body || len == 0)
		return;
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *err = json_object_get(root, "error");
	if (json_is_object(err))
		err = json_object_get(err, "message");
	if (json_is_string(err))
		triage_clean_text(out, outlen, json_string_value(err), json_string_length(err));
	else
		triage_clean_text(out, outlen, body, len);
	json_decref(root);
}

llm_status llm_http_classify(int curl_code, long http_status, const char *body, size_t len,
			     char *detail, size_t dlen)
{
	if (curl_code != CURLE_OK) {
		const char *what = curl_easy_strerror((CURLcode)curl_code);
		llm_status s;
		switch (curl_code) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
			s = LLM_UNAVAILABLE;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			s = LLM_TIMEOUT;
			break;
		case CURLE_ABORTED_BY_CALLBACK:
			s = LLM_ABORTED;
			break;
		default:
			s = LLM_ERROR;
			break;
		}
		snprintf(detail, dlen, "%s", what);
		return s;
	}
	if (http_status == 200) {
		snprintf(detail, dlen, "ok");
		return LLM_OK;
	}
	char msg[PROTO_DETAIL_MAX - 16];
	server_message(body, len, msg, sizeof msg);
	snprintf(detail, dlen, "HTTP %ld: %s", http_status, msg[0] ? msg : "(no message)");
	if (http_status == 404)
		return LLM_MODEL_NOT_FOUND;
	if (http_status == 503 || http_status == 429)
		return LLM_BUSY;
	return LLM_ERROR;
}

/* Runs the transfer set up on h->curl and classifies it. */
static llm_status perform(llm_http *h, long timeout_ms, long connect_timeout_ms,
			  const char **reply, size_t *reply_len, char *detail, size_t dlen)
{
	tr_buf_reset(&h->reply);
	h->errbuf[0] = '\0';
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 connect_timeout_ms > 0 && connect_timeout_ms < timeout_ms ? connect_timeout_ms
										  : timeout_ms);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);

	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (h->reply.too_large) {
		snprintf(detail, dlen, "reply larger than %d bytes", LLM_HTTP_REPLY_MAX);
		return LLM_ERROR;
	}
	llm_status s = llm_http_classify((int)rc, status, h->reply.data, h->reply.len, detail, dlen);
	if (s == LLM_OK) {
		*reply = h->reply.data ? h->reply.data : "";
		*reply_len = h->reply.len;
	} else if (rc != CURLE_OK && h->errbuf[0]) {
		/* curl's own message is more precise than curl_easy_strerror. */
		char clean[CURL_ERROR_SIZE];
		triage_clean_text(clean, sizeof clean, h->errbuf, strlen(h->errbuf));
		snprintf(detail, dlen, "%s", clean);
	}
	return s;
}

llm_status llm_http_post_json(llm_http *h, const char *url, const char *bearer,
			      const json_t *body, long timeout_ms, long connect_timeout_ms,
			      const char **reply, size_t *reply_len, char *detail, size_t dlen)
{
	llm_status s = LLM_ERROR;
	struct curl_slist *headers = NULL, *more;
	char *text = json_dumps(body, JSON_COMPACT);
	char *auth = NULL;

	if (!text) {
		snprintf(detail, dlen, "out of memory encoding the request");
		goto out;
	}
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!headers)
		goto nomem;
	/* No "Expect: 100-continue" round trip before large bodies. */
	if (!(more = curl_slist_append(headers, "Expect:")))
		goto nomem;
	headers = more;
	if (bearer && *bearer) {
		size_t n = strlen(bearer) + sizeof "Authorization: Bearer ";
		if (!(auth = malloc(n)))
			goto nomem;
		snprintf(auth, n, "Authorization: Bearer %s", bearer);
		if (!(more = curl_slist_append(headers, auth)))
			goto nomem;
		headers = more;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 0L);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	s = perform(h, timeout_ms, connect_timeout_ms, reply, reply_len, detail, dlen);
	/* The handle must not keep pointers to what is freed below. */
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	goto out;
nomem:
	snprintf(detail, dlen, "out of memory building the request");
	s = LLM_ERROR;
out:
	curl_slist_free_all(headers);
	if (auth) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(text);
	return s;
}

llm_status llm_http_get(llm_http *h, const char *url, long timeout_ms, const char **reply,
			size_t *reply_len, char *detail, size_t dlen)
{
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	return perform(h, timeout_ms, timeout_ms, reply, reply_len, detail, dlen);
}
