/* enr_model: fetching and holding the built-in model. Models are reference counted under
 * one mutex; a fetch runs under a second mutex (one at a time, over one REQ socket) so
 * workers that want the same new version wait for one download, not several. */
#include "enr_model.h"

#include <jansson.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_sock.h"
#include "rules.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define RETRY_AFTER_MS 1000

typedef struct held {
	learn_model *m;
	int refs;
	struct held *next; /* older versions still referenced */
} held;

struct enr_model {
	char *url;
	long timeout_ms;
	pthread_mutex_t lock;  /* guards current, old, refs */
	pthread_mutex_t fetch; /* one download at a time; guards sock, last_fail_ms, seq */
	held *current;
	held *old;
	bool dialled;
	nng_socket sock;
	int64_t last_fail_ms;
	unsigned long seq;
};

enr_model *enr_model_new(const char *store_url, long timeout_ms)
{
	enr_model *em = calloc(1, sizeof *em);
	if (!em || !(em->url = strdup(store_url))) {
		free(em);
		return NULL;
	}
	em->timeout_ms = timeout_ms;
	pthread_mutex_init(&em->lock, NULL);
	pthread_mutex_init(&em->fetch, NULL);
	return em;
}

static void held_free(held *h)
{
	learn_model_free(h->m);
	free(h);
}

void enr_model_free(enr_model *em)
{
	if (!em)
		return;
	if (em->dialled)
		proto_sock_close(em->sock);
	if (em->current)
		held_free(em->current);
	while (em->old) {
		held *n = em->old->next;
		held_free(em->old);
		em->old = n;
	}
	pthread_mutex_destroy(&em->lock);
	pthread_mutex_destroy(&em->fetch);
	free(em->url);
	free(em);
}

static int64_t current_version(enr_model *em)
{
	pthread_mutex_lock(&em->lock);
	int64_t v = em->current ? em->current->m->version : 0;
	pthread_mutex_unlock(&em->lock);
	return v;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes base64 text into dst (at most cap bytes); returns the length or -1. */
static long b64_decode(const char *s, unsigned char *dst, size_t cap)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			dst[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

/* One MODEL_GET round trip; the reply's JSON in *doc (caller decrefs). */
static int request_part(enr_model *em, int64_t version, size_t offset, json_t **doc)
{
	char v[24], o[24], rid[64];
	snprintf(v, sizeof v, "%lld", (long long)version);
	snprintf(o, sizeof o, "%zu", offset);
	snprintf(rid, sizeof rid, "model-%ld-%lu", (long)getpid(), ++em->seq);
	proto_kv params[2] = {{"version", v}, {"offset", o}};
	proto_msg m = {.type = PROTO_QUERY};
	m.u.query = (proto_query){.request_id = rid, .op = PROTO_OP_MODEL_GET, .params = params,
				  .nparams = 2};
	int rc = proto_sock_send(em->sock, &m);
	if (rc != TR_OK)
		return rc;
	proto_msg reply;
	for (;;) {
		rc = proto_sock_recv(em->sock, &reply);
		if (rc != TR_OK)
			return rc;
		if (reply.type == PROTO_REPLY && strcmp(reply.u.reply.request_id, rid) == 0)
			break;
		proto_msg_free(&reply); /* a late answer to an earlier request */
	}
	rc = reply.u.reply.code;
	if (rc == TR_OK) {
		*doc = json_loads(reply.u.reply.json ? reply.u.reply.json : "", 0, NULL);
		if (!json_is_object(*doc)) {
			json_decref(*doc);
			rc = TR_ERR_PROTO;
		}
	}
	proto_msg_free(&reply);
	return rc;
}

/* Downloads version want (or the newest) and makes it current. Under em->fetch. */
static void fetch(enr_model *em, int64_t want)
{
	unsigned char *blob = NULL;
	size_t size = 0, got = 0;
	int64_t version = 0;
	const char *what = "out of memory";
	int rc = TR_OK;
	if (!em->dialled) {
		rc = proto_sock_dial(PROTO_SOCK_REQ, em->url, &em->sock);
		if (rc != TR_OK) {
			what = "cannot dial the store";
			goto fail;
		}
		em->dialled = true;
		nng_socket_set_ms(em->sock, NNG_OPT_RECVTIMEO, (nng_duration)em->timeout_ms);
		nng_socket_set_ms(em->sock, NNG_OPT_SENDTIMEO, (nng_duration)em->timeout_ms);
	}
	do {
		json_t *doc = NULL;
		rc = request_part(em, want, got, &doc);
		if (rc != TR_OK) {
			what = tr_strerror(rc);
			goto fail;
		}
		json_int_t v = json_integer_value(json_object_get(doc, "version"));
		json_int_t sz = json_integer_value(json_object_get(doc, "size"));
		json_int_t off = json_integer_value(json_object_get(doc, "offset"));
		const char *data = json_string_value(json_object_get(doc, "data"));
		what = "a malformed part";
		bool ok = data && v > 0 && sz > 0 && (size_t)sz <= LEARN_BLOB_MAX && (size_t)off == got &&
			  (!blob || (v == version && (size_t)sz == size));
		if (ok && !blob) {
			version = v, size = (size_t)sz, want = v; /* later parts: exactly this one */
			ok = (blob = malloc(size)) != NULL;
		}
		long n = ok ? b64_decode(data, blob + got, size - got) : -1;
		json_decref(doc);
		if (n <= 0 && got < size) {
			rc = TR_ERR_PROTO;
			goto fail;
		}
		got += (size_t)n;
	} while (got < size);
	char why[160];
	learn_model *m = learn_model_read(blob, size, why, sizeof why);
	free(blob);
	if (!m) {
		tr_warn("model v%lld from the store is unusable: %s", (long long)version, why);
		em->last_fail_ms = tr_mono_ms();
		return;
	}
	m->version = version;
	held *h = calloc(1, sizeof *h);
	if (!h) {
		learn_model_free(m);
		return;
	}
	h->m = m;
	pthread_mutex_lock(&em->lock);
	held *prev = em->current;
	if (prev && prev->m->version >= version) {
		pthread_mutex_unlock(&em->lock);
		held_free(h);
		return;
	}
	em->current = h;
	if (prev) {
		if (prev->refs == 0) {
			held_free(prev);
		} else {
			prev->next = em->old;
			em->old = prev;
		}
	}
	pthread_mutex_unlock(&em->lock);
	tr_info("built-in model v%lld loaded (%zu bytes, %d training examples)", (long long)version,
		size, m->examples);
	return;
fail:
	free(blob);
	em->last_fail_ms = tr_mono_ms();
	tr_warn("built-in model v%lld not fetched from %s: %s", (long long)want, em->url, what);
}

const learn_model *enr_model_acquire(enr_model *em, int64_t want)
{
	if (want > current_version(em)) {
		pthread_mutex_lock(&em->fetch);
		if (want > current_version(em) &&
		    (em->last_fail_ms == 0 || tr_mono_ms() - em->last_fail_ms >= RETRY_AFTER_MS))
			fetch(em, want);
		pthread_mutex_unlock(&em->fetch);
	}
	pthread_mutex_lock(&em->lock);
	const learn_model *m = NULL;
	if (em->current) {
		em->current->refs++;
		m = em->current->m;
	}
	pthread_mutex_unlock(&em->lock);
	return m;
}

void enr_model_release(enr_model *em, const learn_model *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&em->lock);
	if (em->current && em->current->m == m) {
		em->current->refs--;
	} else {
		for (held **p = &em->old; *p; p = &(*p)->next)
			if ((*p)->m == m) {
				held *h = *p;
				if (--h->refs == 0) {
					*p = h->next;
					held_free(h);
				}
				break;
			}
	}
	pthread_mutex_unlock(&em->lock);
}

void enr_model_triage(const learn_model *m, const triage_incident *in, triage_result *out)
{
	learn_input li = {in->title, in->description, in->source, in->service, in->labels,
			  in->nlabels};
	learn_prediction p;
	learn_predict(m, &li, in->similar, in->nsimilar, &p);
	memset(out, 0, sizeof *out);
	rules_describe(in, learn_categories[p.category], p.severity, out);
	snprintf(out->severity, sizeof out->severity, "%s", learn_severities[p.severity]);
	snprintf(out->category, sizeof out->category, "%s", learn_categories[p.category]);
	out->confidence = p.confidence < 0 ? 0 : p.confidence > 1 ? 1 : p.confidence;
	snprintf(out->backend, sizeof out->backend, "model");
	snprintf(out->model, sizeof out->model, "linear-v%lld", (long long)m->version);
	snprintf(out->prompt_version, sizeof out->prompt_version, "%s", LEARN_FEATURES_VERSION);
	out->prompt_tokens = -1;
	out->completion_tokens = -1;
	/* the labelled neighbours that voted are the past incidents this triage used */
	for (size_t i = 0; in->similar && i < in->nsimilar && i < PROTO_SIMILAR_MAX; i++)
		if (learn_knn_votes(&in->similar[i]))
			out->similar_used[out->nsimilar_used++] = in->similar[i].incident_id;
	if (p.knn_votes > 0)
		tr_idebug(in->id, "%d labelled neighbours weighed %.0f%%", p.knn_votes,
			  100 * p.knn_share);
}
