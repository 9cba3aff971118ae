/* learn_features: tokens, hashed unigrams and word pairs, and label evidence for the
 * built-in model. Everything here is bounded: at most LEARN_SCAN_MAX description bytes,
 * LEARN_FEATURES_MAX features, tokens of at most TOKEN_MAX bytes. */
#include "learn_features.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 32
#define RAW_MAX 8192 /* features before merging */
#define PAIR_WEIGHT 0.5f /* word pairs weigh half a word (5-fold CV on train) */
#ifndef SUBWORD_N
#define SUBWORD_N 4
#endif
#ifndef SUBWORD_WEIGHT
#define SUBWORD_WEIGHT 0.5f
#endif

typedef struct {
	learn_feat *f;
	size_t n;
} feat_buf;

static uint32_t fnv(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t bucket_of(const char *ns, const char *a, size_t alen, const char *b, size_t blen)
{
	uint32_t h = fnv(2166136261u, ns, strlen(ns));
	h = fnv(h, ":", 1);
	h = fnv(h, a, alen);
	if (b) {
		h = fnv(h, " ", 1);
		h = fnv(h, b, blen);
	}
	h ^= h >> 15; /* fold the high bits in before masking */
	return h & (LEARN_NBUCKETS - 1);
}

uint32_t learn_feature_bucket(const char *ns, const char *name)
{
	return bucket_of(ns, name, strlen(name), NULL, 0);
}

static void add(feat_buf *fb, uint32_t idx, float v)
{
	if (fb->n < RAW_MAX)
		fb->f[fb->n++] = (learn_feat){idx, v};
}

static bool stopword(const char *t, size_t n)
{
	static const char *const words[] = {"the", "a", "an", "and", "or", "of", "to", "in", "on",
					    "is", "for", "at", "by", "with", "it", "this", "that",
					    "be", "was", "are", "from", "as", "we", "our", "has",
					    "have", "been", NULL};
	for (const char *const *w = words; *w; w++)
		if (strlen(*w) == n && memcmp(*w, t, n) == 0)
			return true;
	return false;
}

static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

/* Character 4-grams of "<token>" (ASCII tokens only): disks/disk, databse/database and
 * German compounds share most of them, which a small corpus needs. */
static void add_subwords(feat_buf *fb, const char *tok, size_t n, float w)
{
	char b[TOKEN_MAX + 2];
	if (n < 4)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)tok[i] >= 0x80)
			return;
	b[0] = '<';
	memcpy(b + 1, tok, n);
	b[n + 1] = '>';
	for (size_t i = 0; i + SUBWORD_N <= n + 2; i++)
		add(fb, bucket_of("g", b + i, SUBWORD_N, NULL, 0), w * SUBWORD_WEIGHT);
}

/* Tokenizes len bytes of s and adds unigrams (weight w) and word pairs (weight w). */
static void add_text(feat_buf *fb, const char *s, size_t len, float w, bool subwords)
{
	char prev[TOKEN_MAX + 1] = "", tok[TOKEN_MAX + 1];
	size_t prevlen = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && !word_byte((unsigned char)s[i]))
			i++;
		size_t n = 0;
		bool digits = true;
		while (i < len && word_byte((unsigned char)s[i])) {
			unsigned char c = (unsigned char)s[i];
			/* CamelCase: KubePodCrashLooping -> kube pod crash looping */
			if (n > 0 && c >= 'A' && c <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z')
				break;
			if (!(c >= '0' && c <= '9'))
				digits = false;
			if (n < TOKEN_MAX)
				tok[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			i++;
		}
		if (n == 0)
			continue;
		if (digits && n > 3)
			memcpy(tok, "#num", 4), n = 4;
		tok[n] = '\0';
		if (n < 2 || stopword(tok, n))
			continue;
		add(fb, bucket_of("w", tok, n, NULL, 0), w);
		if (subwords)
			add_subwords(fb, tok, n, w);
		if (prevlen)
			add(fb, bucket_of("p", prev, prevlen, tok, n), w * PAIR_WEIGHT);
		memcpy(prev, tok, n + 1);
		prevlen = n;
	}
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return false;
	return *a == *b;
}

static bool ieq_any(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (ieq(v, *list))
			return true;
	return false;
}

void learn_label_evidence(const learn_input *in, int *label_sev, int *nonprod, int *prod,
			  int *resolved)
{
	static const char *const crit[] = {"critical", "page", "p1", "sev1", "disaster", "emergency", NULL};
	static const char *const high[] = {"high", "error", "major", "p2", "sev2", NULL};
	static const char *const med[] = {"warning", "warn", "medium", "moderate", "p3", "sev3", NULL};
	static const char *const low[] = {"info", "informational", "low", "minor", "none", "p4", "p5",
					  "sev4", "sev5", NULL};
	static const char *const np[] = {"staging", "stage", "dev", "development", "test", "qa",
					 "sandbox", "preprod", "nonprod", NULL};
	static const char *const pr[] = {"prod", "production", "prd", "live", NULL};
	const char *const *lists[4] = {crit, high, med, low};
	*label_sev = -1, *nonprod = 0, *prod = 0, *resolved = 0;
	for (size_t i = 0; i < in->nlabels && i < PROTO_LABELS_MAX && in->labels; i++) {
		const char *k = in->labels[i].key, *v = in->labels[i].value;
		if (!k || !v)
			continue;
		if (ieq(k, "severity") || ieq(k, "priority") || ieq(k, "sev")) {
			for (int s = 0; s < 4; s++)
				if (ieq_any(v, lists[s]) && (*label_sev < 0 || s < *label_sev))
					*label_sev = s;
		} else if (ieq(k, "env") || ieq(k, "environment") || ieq(k, "stage") ||
			   ieq(k, "namespace") || ieq(k, "cluster")) {
			*nonprod |= ieq_any(v, np);
			*prod |= ieq_any(v, pr);
		} else if (ieq(k, "status") || ieq(k, "state")) {
			*resolved |= ieq(v, "resolved") || ieq(v, "ok") || ieq(v, "closed");
		}
	}
}

static int cmp_feat(const void *a, const void *b)
{
	const learn_feat *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static size_t field_len(const char *s, size_t max)
{
	return s ? strnlen(s, max) : 0;
}

size_t learn_features(const learn_input *in, bool subwords, learn_feat *out, size_t cap)
{
	learn_feat *raw = malloc(RAW_MAX * sizeof *raw);
	if (!raw)
		return 0;
	feat_buf fb = {raw, 0};
	if (in->title)
		add_text(&fb, in->title, field_len(in->title, PROTO_TITLE_MAX), 2.0f, subwords);
	if (in->description)
		add_text(&fb, in->description, field_len(in->description, LEARN_SCAN_MAX), 1.0f, subwords);
	if (in->service)
		add_text(&fb, in->service, field_len(in->service, PROTO_SHORT_MAX), 1.0f, subwords);
	if (in->source && in->source[0]) {
		char src[PROTO_SHORT_MAX + 1];
		size_t n = field_len(in->source, PROTO_SHORT_MAX);
		for (size_t i = 0; i < n; i++)
			src[i] = (char)lower((unsigned char)in->source[i]);
		add(&fb, bucket_of("s", src, n, NULL, 0), 1.0f);
	}
	for (size_t i = 0; i < in->nlabels && i < PROTO_LABELS_MAX && in->labels; i++) {
		const char *k = in->labels[i].key, *v = in->labels[i].value;
		if (!k || !v)
			continue;
		add_text(&fb, v, field_len(v, PROTO_LABEL_VALUE_MAX), ieq(k, "alertname") ? 2.0f : 1.0f, subwords);
	}
	int lsev, nonprod, prod, resolved;
	learn_label_evidence(in, &lsev, &nonprod, &prod, &resolved);
	static const char *const sevs[4] = {"critical", "high", "medium", "low"};
	if (lsev >= 0)
		add(&fb, learn_feature_bucket("x", sevs[lsev]), 2.0f);
	if (nonprod && !prod)
		add(&fb, learn_feature_bucket("x", "nonprod"), 2.0f);
	if (prod)
		add(&fb, learn_feature_bucket("x", "prod"), 1.0f);
	if (resolved)
		add(&fb, learn_feature_bucket("x", "resolved"), 2.0f);

	qsort(raw, fb.n, sizeof *raw, cmp_feat);
	size_t n = 0;
	for (size_t i = 0; i < fb.n; i++) {
		if (n > 0 && out[n - 1].index == raw[i].index) {
			if (raw[i].value > out[n - 1].value)
				out[n - 1].value = raw[i].value;
			continue;
		}
		if (n == cap || n == LEARN_FEATURES_MAX)
			break;
		out[n++] = raw[i];
	}
	free(raw);
	double norm = 0;
	for (size_t i = 0; i < n; i++)
		norm += (double)out[i].value * out[i].value;
	norm = sqrt(norm);
	for (size_t i = 0; i < n && norm > 0; i++)
		out[i].value = (float)(out[i].value / norm);
	return n;
}
