/* learn_features: tokens, hashed unigrams and word pairs, the cues of the lexicon
 * (learn_cues), and label evidence for the built-in model. Everything here is bounded: at
 * most LEARN_SCAN_MAX description bytes, LEARN_FEATURES_MAX features, tokens of at most
 * TOKEN_MAX bytes. */
#include "learn_features.h"
#include "learn_cues.h"
#include "learn_model.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 32
#define RAW_MAX 8192 /* features before merging */
/* Chosen by 5-fold cross-validation on the train split (4 repeats; 3- and 5-grams, other
 * weights and subwords for the severity head did no better). */
#define PAIR_WEIGHT 0.5f    /* word pairs weigh half a word */
#define SUBWORD_N 4         /* character n-grams of words, for the category head */
#define SUBWORD_WEIGHT 0.5f
/* A cue of the lexicon weighs a word (5-fold CV x3 on train, category / severity: without
 * cues 71.1% / 60.3%, at 0.5 77.2% / 63.8%, at 1 77.9% / 64.1%, at 2 76.8% / 63.3%). */
#define CUE_WEIGHT 1.0f
/* Impact x urgency, the rubric's table (docs/triage-rubric.md): each pair of an impact cue
 * and an urgency cue met in an incident is one more feature (with the size of shares
 * written as percentages, add_percent: 5-fold CV x8 on train, severity 63.0% -> 63.6%,
 * category 78.4% either way). */
#define IMPACT_URGENCY_WEIGHT 1.0f

#define SEEN_MAX 24 /* distinct impact and urgency cues remembered for their pairs */

typedef struct {
	learn_feat *f;
	size_t n;
	const char *seen[SEEN_MAX]; /* the impact (i.) and urgency (u.) cues met */
	size_t nseen;
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

/* ---- tokens: UTF-8 code points, case-folded, split at punctuation and CamelCase ---- */

#define WORD_CP_MAX 64 /* code points of one word (a longer run is cut into words) */

/* The code point at s[*i] (advancing *i); a malformed byte reads as U+FFFD. */
static uint32_t next_cp(const char *s, size_t len, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	size_t left = len - *i, n = 1;
	uint32_t cp = u[0];
	if (cp >= 0xC2 && cp < 0xE0 && left >= 2 && (u[1] & 0xC0) == 0x80)
		n = 2, cp = ((cp & 0x1F) << 6) | (u[1] & 0x3F);
	else if (cp >= 0xE0 && cp < 0xF0 && left >= 3 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80)
		n = 3, cp = ((cp & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
	else if (cp >= 0xF0 && cp < 0xF5 && left >= 4 && (u[1] & 0xC0) == 0x80 &&
		 (u[2] & 0xC0) == 0x80 && (u[3] & 0xC0) == 0x80)
		n = 4, cp = ((cp & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
			    ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
	else if (cp >= 0x80)
		cp = 0xFFFD;
	*i += n;
	return cp;
}

static size_t put_cp(char *out, uint32_t cp)
{
	if (cp < 0x80)
		return out[0] = (char)cp, 1;
	if (cp < 0x800)
		return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), 2;
	if (cp < 0x10000)
		return out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
		       out[2] = (char)(0x80 | (cp & 0x3F)), 3;
	return out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
	       out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F)), 4;
}

/* Lower case for the scripts of the corpus's languages: ASCII, Latin-1, Latin
 * Extended-A (Polish), Cyrillic. */
static uint32_t fold_cp(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
	    (c >= 0x410 && c <= 0x42F))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && !(c & 1))
		return c + 1;
	if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1))
		return c + 1;
	return c;
}

/* Japanese and Chinese script: written without spaces, read as character pairs. */
static bool cjk_cp(uint32_t c)
{
	return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xFF66 && c <= 0xFF9F);
}

/* Letters and digits; punctuation and symbols of every script separate words. */
static bool word_cp(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	return !(c <= 0xBF || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x2BFF) ||
		 (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFF0F) ||
		 (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
		 (c >= 0xFF5B && c <= 0xFF65) || c == 0xFFFD || c == 0x30FB);
}

/* Character n-grams of "<word>" (SUBWORD_N code points): disks/disk, databse/database,
 * German compounds and the inflections of the other languages share most of them. */
static void add_subwords(feat_buf *fb, const uint32_t *cp, size_t n, float w)
{
	uint32_t b[WORD_CP_MAX + 2];
	char g[SUBWORD_N * 4];
	if (n < SUBWORD_N)
		return;
	b[0] = '<';
	memcpy(b + 1, cp, n * sizeof *cp);
	b[n + 1] = '>';
	for (size_t i = 0; i + SUBWORD_N <= n + 2; i++) {
		size_t len = 0;
		for (size_t k = 0; k < SUBWORD_N; k++)
			len += put_cp(g + len, b[i + k]);
		add(fb, bucket_of("g", g, len, NULL, 0), w * SUBWORD_WEIGHT);
	}
}

/* The cues of a token or a CJK run, each a feature of weight w * CUE_WEIGHT. */
static void add_cues(feat_buf *fb, const char **cues, size_t k, float w)
{
	for (size_t i = 0; i < k; i++) {
		add(fb, bucket_of("c", cues[i], strlen(cues[i]), NULL, 0), w * CUE_WEIGHT);
		if (cues[i][0] != 'i' && cues[i][0] != 'u')
			continue;
		bool known = false;
		for (size_t j = 0; j < fb->nseen && !known; j++)
			known = fb->seen[j] == cues[i];
		if (!known && fb->nseen < SEEN_MAX)
			fb->seen[fb->nseen++] = cues[i];
	}
}

/* One word (n code points) as features; prev/prevlen carry the word before it, cprev the
 * two tokens before it (stopwords too) for the cue lexicon. */
static void add_word(feat_buf *fb, const uint32_t *cp, size_t n, float w, bool subwords,
		     char *prev, size_t *prevlen, learn_cue_prev *cprev)
{
	char tok[TOKEN_MAX + 4];
	size_t len = 0;
	bool digits = true;
	for (size_t k = 0; k < n && len + 4 <= TOKEN_MAX; k++) {
		digits &= cp[k] >= '0' && cp[k] <= '9';
		len += put_cp(tok + len, cp[k]);
	}
	if (digits && len > 3)
		memcpy(tok, "#num", 4), len = 4;
	tok[len] = '\0';
	const char *cues[LEARN_CUES_MAX];
	add_cues(fb, cues, learn_cues_word(cprev, tok, len, cues, LEARN_CUES_MAX), w);
	memcpy(cprev->tok[1], cprev->tok[0], cprev->len[0] + 1);
	cprev->len[1] = cprev->len[0];
	memcpy(cprev->tok[0], tok, len + 1);
	cprev->len[0] = len;
	if (n < 2 || stopword(tok, len))
		return;
	add(fb, bucket_of("w", tok, len, NULL, 0), w);
	if (subwords)
		add_subwords(fb, cp, n, w);
	if (*prevlen)
		add(fb, bucket_of("p", prev, *prevlen, tok, len), w * PAIR_WEIGHT);
	memcpy(prev, tok, len + 1);
	*prevlen = len;
}

/* A run of Japanese or Chinese characters: every adjacent pair is a word (a single
 * character on its own), no word pairs across it. */
static void add_cjk(feat_buf *fb, const uint32_t *cp, size_t n, float w, size_t *prevlen,
		    learn_cue_prev *cprev)
{
	char g[8], run[WORD_CP_MAX * 4];
	size_t runlen = 0;
	for (size_t k = 0; k < n; k++)
		runlen += put_cp(run + runlen, cp[k]);
	const char *cues[LEARN_CUES_MAX];
	add_cues(fb, cues, learn_cues_cjk(run, runlen, cues, LEARN_CUES_MAX), w);
	cprev->len[0] = cprev->len[1] = 0;
	for (size_t k = 0; k + (n > 1) < n; k++) {
		size_t len = put_cp(g, cp[k]);
		if (n > 1)
			len += put_cp(g + len, cp[k + 1]);
		add(fb, bucket_of("w", g, len, NULL, 0), w);
	}
	*prevlen = 0;
}

/* A share written as a number before '%' ("35% of requests", "disk 97% full"): its size
 * as a cue, since the number itself is too rare a word to learn from. */
static void add_percent(feat_buf *fb, const uint32_t *cp, size_t n, float w)
{
	unsigned v = 0;
	for (size_t k = 0; k < n && k < 4; k++) {
		if (cp[k] < '0' || cp[k] > '9')
			return;
		v = v * 10 + (cp[k] - '0');
	}
	const char *cue[1] = {v >= 90   ? "n.pct90"
			      : v >= 50 ? "n.pct50"
			      : v >= 10 ? "n.pct10"
					: "n.pct0"};
	add_cues(fb, cue, 1, w);
}

/* Tokenizes len bytes of s and adds words (weight w), their character n-grams when
 * subwords, and word pairs (PAIR_WEIGHT of w). */
static void add_text(feat_buf *fb, const char *s, size_t len, float w, bool subwords)
{
	char prev[TOKEN_MAX + 4] = "";
	size_t prevlen = 0, i = 0;
	learn_cue_prev cprev = {.len = {0, 0}};
	uint32_t cp[WORD_CP_MAX];
	while (i < len) {
		size_t n = 0;
		uint32_t c = 0, last = 0;
		bool cjk = false;
		while (i < len) {
			size_t at = i;
			c = next_cp(s, len, &i);
			bool word = word_cp(c);
			/* a word ends at punctuation, at a change of script (CJK or not), at
			 * CamelCase (KubePodCrashLooping -> kube pod crash looping), or full */
			if (n > 0 && (!word || cjk_cp(c) != cjk || n == WORD_CP_MAX ||
				      (c >= 'A' && c <= 'Z' && last >= 'a' && last <= 'z'))) {
				i = at;
				break;
			}
			if (!word)
				continue;
			if (n == 0)
				cjk = cjk_cp(c);
			last = c;
			cp[n++] = fold_cp(c);
		}
		if (n == 0)
			continue;
		if (cjk)
			add_cjk(fb, cp, n, w, &prevlen, &cprev);
		else
			add_word(fb, cp, n, w, subwords, prev, &prevlen, &cprev);
		if (i < len && s[i] == '%')
			add_percent(fb, cp, n, w);
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
	feat_buf fb = {.f = raw, .n = 0, .nseen = 0};
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
	for (size_t i = 0; i < fb.nseen; i++)
		for (size_t j = 0; j < fb.nseen; j++)
			if (fb.seen[i][0] == 'i' && fb.seen[j][0] == 'u')
				add(&fb, bucket_of("iu", fb.seen[i], strlen(fb.seen[i]), fb.seen[j],
						   strlen(fb.seen[j])), IMPACT_URGENCY_WEIGHT);
	int lsev, nonprod, prod, resolved;
	learn_label_evidence(in, &lsev, &nonprod, &prod, &resolved);
	if (lsev >= 0 && lsev < LEARN_NSEV)
		add(&fb, learn_feature_bucket("x", learn_severities[lsev]), 2.0f);
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
