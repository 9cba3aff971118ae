/* learn_model: prediction with the two linear heads, calibration maps, kNN votes and the
 * binary form of a model (format 2, little-endian, every count and float checked). */
#include "learn_model.h"

#include "proto_contract.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The contract's lists, in its order (a model file's class indexes depend on it). */
const char *const learn_categories[LEARN_NCAT] = {PROTO_CATEGORIES(PROTO_STR, PROTO_COMMA)};
const char *const learn_severities[LEARN_NSEV] = {PROTO_SEVERITIES(PROTO_STR, PROTO_COMMA)};
_Static_assert(PROTO_NCATEGORIES == LEARN_NCAT, "LEARN_NCAT is the contract's category count");
_Static_assert(PROTO_NSEVERITIES == LEARN_NSEV, "LEARN_NSEV is the contract's severity count");

static int index_of(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int learn_category_index(const char *name) { return index_of(learn_categories, LEARN_NCAT, name); }
int learn_severity_index(const char *name) { return index_of(learn_severities, LEARN_NSEV, name); }

/* ---- calibration ---- */

double learn_calib_apply(const learn_calib *c, double p)
{
	if (c->n == 0)
		return p;
	if (p <= c->x[0])
		return c->y[0];
	for (size_t i = 1; i < c->n; i++)
		if (p <= c->x[i]) {
			double t = (p - c->x[i - 1]) / (c->x[i] - c->x[i - 1] + 1e-12);
			return c->y[i - 1] + t * (c->y[i] - c->y[i - 1]);
		}
	return c->y[c->n - 1];
}

typedef struct {
	double x, y, w;
} calib_block;

static int cmp_block(const void *a, const void *b)
{
	const calib_block *p = a, *q = b;
	return p->x < q->x ? -1 : p->x > q->x;
}

bool learn_calib_fit(learn_calib *c, const double *score, const bool *right, size_t n)
{
	memset(c, 0, sizeof *c);
	if (n == 0)
		return true;
	calib_block *b = malloc(n * sizeof *b);
	if (!b)
		return false;
	for (size_t i = 0; i < n; i++)
		b[i] = (calib_block){score[i], right[i] ? 1.0 : 0.0, 1.0};
	qsort(b, n, sizeof *b, cmp_block);
	/* pool adjacent violators: blocks keep the weighted mean x and y */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		b[m++] = b[i];
		while (m > 1 && b[m - 2].y / b[m - 2].w >= b[m - 1].y / b[m - 1].w) {
			calib_block *p = &b[m - 2], *q = &b[m - 1];
			p->x = (p->x * p->w + q->x * q->w) / (p->w + q->w);
			p->y += q->y;
			p->w += q->w;
			m--;
		}
	}
	/* at most LEARN_CALIB_MAX knots: merge the lightest neighbouring pair */
	while (m > LEARN_CALIB_MAX) {
		size_t k = 0;
		for (size_t i = 1; i + 1 < m; i++)
			if (b[i].w + b[i + 1].w < b[k].w + b[k + 1].w)
				k = i;
		b[k].x = (b[k].x * b[k].w + b[k + 1].x * b[k + 1].w) / (b[k].w + b[k + 1].w);
		b[k].y += b[k + 1].y;
		b[k].w += b[k + 1].w;
		memmove(&b[k + 1], &b[k + 2], (m - k - 2) * sizeof *b);
		m--;
	}
	for (size_t i = 0; i < m; i++) {
		c->x[i] = (float)b[i].x;
		c->y[i] = (float)(b[i].y / b[i].w);
	}
	c->n = m;
	free(b);
	return true;
}

/* ---- prediction ---- */

learn_model *learn_model_new(void)
{
	learn_model *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->w_cat = calloc((size_t)LEARN_NBUCKETS * LEARN_NCAT, sizeof(float));
	m->w_sev = calloc((size_t)LEARN_NBUCKETS * LEARN_NSEV, sizeof(float));
	if (!m->w_cat || !m->w_sev) {
		learn_model_free(m);
		return NULL;
	}
	return m;
}

void learn_model_free(learn_model *m)
{
	if (!m)
		return;
	free(m->w_cat);
	free(m->w_sev);
	free(m);
}

/* One head's decision values: b[c] + w[., c] . f for its first k columns. */
static void decisions(const float *w, const float *b, int stride, int k, const learn_feat *f,
		      size_t n, double *dec)
{
	for (int c = 0; c < k; c++) {
		dec[c] = b[c];
		for (size_t i = 0; i < n; i++)
			dec[c] += (double)w[(size_t)f[i].index * (size_t)stride + (size_t)c] *
				  f[i].value;
	}
}

/* A floor under each severity's probability: the rubric's offsets multiply it, so none
 * may be exactly zero. */
#define SEV_FLOOR 1e-6

void learn_model_probs(const learn_model *m, const learn_feat *f, size_t n, bool severity_head,
		       double *p)
{
	double dec[LEARN_NCAT], sum = 0;
	if (severity_head) {
		/* cumulative: P(severity <= t) for t = critical, high, medium, kept monotone */
		decisions(m->w_sev, m->b_sev, LEARN_NSEV, LEARN_NSEV - 1, f, n, dec);
		double below = 0;
		for (int t = 0; t < LEARN_NSEV - 1; t++) {
			double cum = 1.0 / (1.0 + exp(-dec[t]));
			cum = cum < below ? below : cum;
			p[t] = cum - below + SEV_FLOOR;
			below = cum;
		}
		p[LEARN_NSEV - 1] = 1.0 - below + SEV_FLOOR;
		for (int h = 0; h < LEARN_NSEV; h++)
			sum += p[h];
		for (int h = 0; h < LEARN_NSEV; h++)
			p[h] /= sum;
		return;
	}
	decisions(m->w_cat, m->b_cat, LEARN_NCAT, LEARN_NCAT, f, n, dec);
	for (int c = 0; c < LEARN_NCAT; c++)
		sum += p[c] = 1.0 / (1.0 + exp(-dec[c]));
	for (int c = 0; c < LEARN_NCAT; c++)
		p[c] = sum > 0 ? p[c] / sum : 1.0 / LEARN_NCAT;
}

/* The category's value among the severity head's features: small, because a strong one
 * drowned the words (5-fold CV on train: severity 49.6% at 1.0, 58.9% at 0.1), yet
 * present, so a team whose rubric ties severity to category (every security incident
 * critical) can teach it through its labels. */
#define CATEGORY_FEATURE 0.1f

size_t learn_with_category(const learn_feat *f, size_t n, int category, learn_feat *out)
{
	uint32_t idx = learn_feature_bucket("k", learn_categories[category]);
	size_t o = 0;
	bool placed = false;
	for (size_t i = 0; i < n; i++) {
		if (!placed && idx <= f[i].index) {
			placed = true;
			if (idx < f[i].index)
				out[o++] = (learn_feat){idx, CATEGORY_FEATURE};
			else {
				out[o++] = (learn_feat){idx, f[i].value + CATEGORY_FEATURE};
				continue;
			}
		}
		out[o++] = f[i];
	}
	if (!placed)
		out[o++] = (learn_feat){idx, CATEGORY_FEATURE};
	return o;
}

bool learn_knn_votes(const learn_neighbour *nb)
{
	double s = nb->score;
	return nb->human_labelled && s >= LEARN_KNN_MIN_SCORE && s <= 1.0 &&
	       ((nb->category >= 0 && nb->category < LEARN_NCAT) ||
		(nb->severity >= 0 && nb->severity < LEARN_NSEV));
}

double learn_knn_blend(const learn_neighbour *nb, size_t n, double *p_cat, double *p_sev,
		       int *votes)
{
	double vc[LEARN_NCAT] = {0}, vs[LEARN_NSEV] = {0}, wc = 0, ws = 0;
	*votes = 0;
	for (size_t i = 0; nb && i < n; i++) {
		double s = nb[i].score;
		if (!learn_knn_votes(&nb[i]))
			continue;
		if (nb[i].category >= 0 && nb[i].category < LEARN_NCAT)
			vc[nb[i].category] += s, wc += s;
		if (nb[i].severity >= 0 && nb[i].severity < LEARN_NSEV)
			vs[nb[i].severity] += s, ws += s;
		(*votes)++;
	}
	double share_c = wc / (wc + LEARN_KNN_PRIOR), share_s = ws / (ws + LEARN_KNN_PRIOR);
	if (share_c > LEARN_KNN_CAP)
		share_c = LEARN_KNN_CAP;
	if (share_s > LEARN_KNN_CAP)
		share_s = LEARN_KNN_CAP;
	for (int c = 0; wc > 0 && c < LEARN_NCAT; c++)
		p_cat[c] = (1 - share_c) * p_cat[c] + share_c * vc[c] / wc;
	for (int s = 0; ws > 0 && s < LEARN_NSEV; s++)
		p_sev[s] = (1 - share_s) * p_sev[s] + share_s * vs[s] / ws;
	return share_c > share_s ? share_c : share_s;
}

static int argmax(const double *p, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (p[i] > p[best])
			best = i;
	return best;
}

void learn_predict_heads(const learn_model *m, const learn_input *in, learn_prediction *out)
{
	static _Thread_local learn_feat f[LEARN_FEATURES_MAX], fs[LEARN_FEATURES_MAX + 1];
	memset(out, 0, sizeof *out);
	size_t n = learn_features(in, true, f, LEARN_FEATURES_MAX);
	learn_model_probs(m, f, n, false, out->p_cat);
	out->category = argmax(out->p_cat, LEARN_NCAT);
	n = learn_features(in, false, f, LEARN_FEATURES_MAX);
	size_t ns = learn_with_category(f, n, out->category, fs);
	learn_model_probs(m, fs, ns, true, out->p_sev);
}

void learn_predict_finish(const learn_model *m, const learn_input *in, const learn_neighbour *nb,
			  size_t nnb, learn_prediction *out)
{
	out->knn_share = learn_knn_blend(nb, nnb, out->p_cat, out->p_sev, &out->knn_votes);
	out->category = argmax(out->p_cat, LEARN_NCAT);
	/* the rubric of each category, p_sev x exp(offset) renormalised, mixed by the
	 * category's probability: P(severity) = sum over c of P(c) P(severity | c). Applying
	 * only the predicted category's rubric staked everything on the category: a security
	 * incident taken for network kept network's severities, a network one taken for
	 * security became critical (learn-eval --team-curve 8 --repeat 2: +13.6 points with
	 * the predicted category's rubric, +14.2 mixed; p_cat^2 instead of p_cat +14.0, p_cat^0.5
	 * +11.7). Without a rubric (all offsets 0) this is p_sev unchanged. */
	double mix[LEARN_NSEV] = {0};
	for (int c = 0; c < LEARN_NCAT; c++) {
		double q[LEARN_NSEV], sum = 0;
		for (int h = 0; h < LEARN_NSEV; h++)
			sum += q[h] = out->p_sev[h] * exp(m->rubric[c][h]);
		for (int h = 0; h < LEARN_NSEV && sum > 0; h++)
			mix[h] += out->p_cat[c] * q[h] / sum;
	}
	memcpy(out->p_sev, mix, sizeof mix);
	out->severity = argmax(out->p_sev, LEARN_NSEV);
	int lsev, nonprod, prod, resolved;
	learn_label_evidence(in, &lsev, &nonprod, &prod, &resolved);
	if (nonprod && !prod && out->severity < 2)
		out->severity = 2;
	if (resolved)
		out->severity = 3;
	double pc = out->p_cat[out->category], ps = out->p_sev[out->severity];
	out->conf_category = learn_calib_apply(&m->cal_cat, pc);
	out->conf_severity = learn_calib_apply(&m->cal_sev, ps);
	out->confidence = learn_calib_apply(&m->cal_joint, pc * ps);
}

void learn_predict(const learn_model *m, const learn_input *in, const learn_neighbour *nb,
		   size_t nnb, learn_prediction *out)
{
	learn_predict_heads(m, in, out);
	learn_predict_finish(m, in, nb, nnb, out);
}

/* ---- binary form ---- */

#define MAGIC "TRLM"
#define FORMAT 2      /* 2: the features version after the format; rubric offsets */
#define FEATURES_LEN 16 /* bytes of that version, NUL-padded */

typedef struct {
	unsigned char *p;
	size_t len, cap;
	bool failed;
} wbuf;

static void put(wbuf *b, const void *v, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *p = cap <= LEARN_BLOB_MAX ? realloc(b->p, cap) : NULL;
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p, b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void put_u32(wbuf *b, uint32_t v) { put(b, &v, 4); }

static void put_calib(wbuf *b, const learn_calib *c)
{
	put_u32(b, (uint32_t)c->n);
	put(b, c->x, c->n * sizeof(float));
	put(b, c->y, c->n * sizeof(float));
}

static void put_rows(wbuf *b, const float *w, int k)
{
	uint32_t rows = 0;
	for (uint32_t i = 0; i < LEARN_NBUCKETS; i++)
		for (int c = 0; c < k; c++)
			if (w[(size_t)i * k + c] != 0.0f) {
				rows++;
				break;
			}
	put_u32(b, rows);
	for (uint32_t i = 0; i < LEARN_NBUCKETS; i++)
		for (int c = 0; c < k; c++)
			if (w[(size_t)i * k + c] != 0.0f) {
				put_u32(b, i);
				put(b, &w[(size_t)i * k], (size_t)k * sizeof(float));
				break;
			}
}

unsigned char *learn_model_write(const learn_model *m, size_t *len)
{
	wbuf b = {0};
	char features[FEATURES_LEN] = {0};
	snprintf(features, sizeof features, "%s", LEARN_FEATURES_VERSION);
	put(&b, MAGIC, 4);
	put_u32(&b, FORMAT);
	put(&b, features, sizeof features);
	put(&b, &m->version, 8);
	put(&b, &m->examples, 4);
	put_u32(&b, LEARN_NBITS);
	put_u32(&b, LEARN_NCAT);
	put_u32(&b, LEARN_NSEV);
	put(&b, m->b_cat, sizeof m->b_cat);
	put(&b, m->b_sev, sizeof m->b_sev);
	put_calib(&b, &m->cal_cat);
	put_calib(&b, &m->cal_sev);
	put_calib(&b, &m->cal_joint);
	put_rows(&b, m->w_cat, LEARN_NCAT);
	put_rows(&b, m->w_sev, LEARN_NSEV);
	put(&b, m->rubric, sizeof m->rubric);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

typedef struct {
	const unsigned char *p;
	size_t len, off;
	bool bad;
} rbuf;

static void get(rbuf *r, void *v, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p + r->off, n);
	r->off += n;
}

static uint32_t get_u32(rbuf *r)
{
	uint32_t v;
	get(r, &v, 4);
	return v;
}

static bool finite_all(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

static bool get_calib(rbuf *r, learn_calib *c)
{
	uint32_t n = get_u32(r);
	if (r->bad || n > LEARN_CALIB_MAX)
		return false;
	c->n = n;
	get(r, c->x, n * sizeof(float));
	get(r, c->y, n * sizeof(float));
	if (r->bad || !finite_all(c->x, n) || !finite_all(c->y, n))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (c->y[i] < 0 || c->y[i] > 1 || (i && c->x[i] < c->x[i - 1]))
			return false;
	return true;
}

static bool get_rows(rbuf *r, float *w, int k)
{
	uint32_t rows = get_u32(r);
	if (r->bad || rows > LEARN_NBUCKETS)
		return false;
	int64_t last = -1;
	for (uint32_t i = 0; i < rows; i++) {
		uint32_t idx = get_u32(r);
		if (r->bad || idx >= LEARN_NBUCKETS || (int64_t)idx <= last)
			return false;
		last = idx;
		get(r, &w[(size_t)idx * k], (size_t)k * sizeof(float));
		if (r->bad || !finite_all(&w[(size_t)idx * k], (size_t)k))
			return false;
	}
	return true;
}

learn_model *learn_model_read(const unsigned char *blob, size_t len, char *why, size_t whylen)
{
	const char *err = "out of memory";
	learn_model *m = learn_model_new();
	if (!m)
		goto fail;
	rbuf r = {blob, len, 0, false};
	char magic[4];
	get(&r, magic, 4);
	err = "not a model (magic)";
	if (r.bad || memcmp(magic, MAGIC, 4) != 0)
		goto fail;
	err = "unknown model format or shape";
	if (get_u32(&r) != FORMAT)
		goto fail;
	/* weights mean something only over the features they were trained on */
	char features[FEATURES_LEN + 1] = {0};
	get(&r, features, FEATURES_LEN);
	err = "trained on other features than " LEARN_FEATURES_VERSION;
	if (r.bad || strcmp(features, LEARN_FEATURES_VERSION) != 0)
		goto fail;
	err = "unknown model format or shape";
	get(&r, &m->version, 8);
	get(&r, &m->examples, 4);
	if (get_u32(&r) != LEARN_NBITS || get_u32(&r) != LEARN_NCAT || get_u32(&r) != LEARN_NSEV)
		goto fail;
	err = "truncated or corrupt model";
	get(&r, m->b_cat, sizeof m->b_cat);
	get(&r, m->b_sev, sizeof m->b_sev);
	if (r.bad || !finite_all(m->b_cat, LEARN_NCAT) || !finite_all(m->b_sev, LEARN_NSEV))
		goto fail;
	if (!get_calib(&r, &m->cal_cat) || !get_calib(&r, &m->cal_sev) ||
	    !get_calib(&r, &m->cal_joint))
		goto fail;
	if (!get_rows(&r, m->w_cat, LEARN_NCAT) || !get_rows(&r, m->w_sev, LEARN_NSEV))
		goto fail;
	get(&r, m->rubric, sizeof m->rubric);
	if (r.bad || !finite_all(&m->rubric[0][0], LEARN_NCAT * LEARN_NSEV))
		goto fail;
	for (int c = 0; c < LEARN_NCAT; c++)
		for (int h = 0; h < LEARN_NSEV; h++)
			if (fabsf(m->rubric[c][h]) > LEARN_RUBRIC_MAX)
				goto fail;
	if (r.off != len)
		goto fail;
	return m;
fail:
	snprintf(why, whylen, "%s", err);
	learn_model_free(m);
	return NULL;
}
