/* learn_train: LIBLINEAR problems from hashed features, the two heads (category one
 * against the rest, severity cumulative), the weights copied into a learn_model, and
 * k-fold held-out calibration. */
#include "learn_train.h"

#include <linear.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABSENT_BIAS -30.0f /* a class with no example is never predicted */
/* The rubric's prior, in responder labels: chosen by the simulated learning curve on the
 * train split (learn-eval --team-curve 8 --repeat 2, 688 incidents: +7.8 points at 0.3,
 * +8.3 at 1, +8.2 at 3). */
#define RUBRIC_L2 1.0
#define RUBRIC_ITERATIONS 300

typedef struct {
	struct feature_node *cat; /* per example: features + bias node + terminator */
	struct feature_node *sev; /* the same plus the true category feature */
} example_nodes;

static void quiet(const char *s) { (void)s; }

/* The times an example counts in a head: its weight, except a responder's label in the
 * severity head, which counts once: there the team's rubric is the rubric offsets' to
 * learn, per category, and a label repeated taught the words of a few incidents the
 * team's severity instead (learn-eval --team-curve 8 --repeat 2: +9.8 points with the
 * weight, +10.8 counted once). */
static int repeats(const learn_example *e, bool severity)
{
	return severity && e->history ? 1 : e->weight;
}

static struct feature_node *to_nodes(const learn_feat *f, size_t n)
{
	struct feature_node *x = malloc((n + 2) * sizeof *x);
	if (!x)
		return NULL;
	for (size_t i = 0; i < n; i++)
		x[i] = (struct feature_node){(int)f[i].index + 1, f[i].value};
	x[n] = (struct feature_node){(int)LEARN_NBUCKETS + 1, 1.0};
	x[n + 1] = (struct feature_node){-1, 0};
	return x;
}

/* Fits prob (labels 0..nlabels-1, at least two of them present) and copies the decision
 * function of each label l with col[l] >= 0 into column col[l] of w/b (stride k). */
static bool fit(const struct problem *prob, double c, int k, const int *col, float *w, float *b)
{
	struct parameter param = {.solver_type = L2R_LR, .eps = 0.01, .C = c, .p = 0.1};
	struct model *mod = train(prob, &param);
	if (!mod)
		return false;
	int nr = get_nr_class(mod);
	int labels[LEARN_NCAT];
	get_labels(mod, labels);
	for (int j = 0; j < nr; j++) {
		int to = col[labels[j]];
		if (to < 0)
			continue;
		for (uint32_t f = 0; f < LEARN_NBUCKETS; f++) /* + 0: no -0 (the binary form has none) */
			w[(size_t)f * (size_t)k + (size_t)to] =
				(float)get_decfun_coef(mod, (int)f + 1, j) + 0.0f;
		b[to] = (float)get_decfun_bias(mod, j); /* the bias node: not a coefficient */
	}
	free_and_destroy_model(&mod);
	return true;
}

/* The category head: one-vs-rest over the classes seen (y holds the categories). */
static bool fit_category(struct problem *prob, double c, float *w, float *b)
{
	int count[LEARN_NCAT] = {0}, nseen = 0, only = 0;
	for (int i = 0; i < prob->l; i++)
		if (!count[(int)prob->y[i]]++)
			nseen++, only = (int)prob->y[i];
	if (nseen == 1) {
		b[only] = -ABSENT_BIAS; /* one class only: always it */
		return true;
	}
	static const int identity[LEARN_NCAT] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	return fit(prob, c, LEARN_NCAT, identity, w, b);
}

/* The severity head, for an ordered scale: one logistic regression per threshold t
 * (critical, high, medium) of "severity <= t" (y holds the severities), the cumulative
 * form learn_model_probs reads. It learns each boundary from every example, where one
 * class against the rest learnt "high" from the high examples alone (5-fold CV on 1,252
 * train incidents, 8 repeats: severity 62.3% -> 63.1%; simulated learning curve,
 * --team-curve 8 --repeat 2: +12.8 -> +13.5 points). */
static bool fit_severity(struct problem *prob, double c, float *w, float *b)
{
	double *sev = prob->y, *below = malloc((size_t)prob->l * sizeof(double));
	bool ok = below != NULL;
	static const int to_column[LEARN_NSEV - 1][2] = {{-1, 0}, {-1, 1}, {-1, 2}};
	b[LEARN_NSEV - 1] = 0; /* unused */
	for (int t = 0; ok && t < LEARN_NSEV - 1; t++) {
		int n_below = 0;
		for (int i = 0; i < prob->l; i++)
			n_below += (int)(below[i] = sev[i] <= t);
		if (n_below == 0 || n_below == prob->l) {
			b[t] = n_below ? -ABSENT_BIAS : ABSENT_BIAS; /* one side only */
			continue;
		}
		prob->y = below;
		ok = fit(prob, c, LEARN_NSEV, to_column[t], w, b);
		prob->y = sev;
	}
	free(below);
	return ok;
}

/* Trains one head over the examples whose fold differs from skip_fold (-1: all) and
 * copies its weights into w/b. Returns false when out of memory. */
static bool train_head(const learn_example *ex, const example_nodes *nodes, size_t n,
		       bool severity, int folds, int skip_fold, double c, float *w, float *b)
{
	int k = severity ? LEARN_NSEV : LEARN_NCAT;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (skip_fold < 0 || (int)(i % (size_t)folds) != skip_fold)
			total += (size_t)repeats(&ex[i], severity);
	memset(w, 0, (size_t)LEARN_NBUCKETS * (size_t)k * sizeof(float));
	for (int j = 0; j < k; j++)
		b[j] = ABSENT_BIAS;
	if (total == 0)
		return true;
	struct problem prob = {.l = (int)total, .n = (int)LEARN_NBUCKETS + 1, .bias = 1.0};
	prob.y = malloc(total * sizeof(double));
	prob.x = malloc(total * sizeof(struct feature_node *));
	bool ok = prob.y && prob.x;
	size_t l = 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (skip_fold >= 0 && (int)(i % (size_t)folds) == skip_fold)
			continue;
		for (int r = 0; r < repeats(&ex[i], severity); r++) {
			prob.y[l] = severity ? ex[i].severity : ex[i].category;
			prob.x[l++] = severity ? nodes[i].sev : nodes[i].cat;
		}
	}
	if (ok)
		ok = severity ? fit_severity(&prob, c, w, b) : fit_category(&prob, c, w, b);
	free(prob.y);
	free(prob.x);
	return ok;
}

static bool train_into(learn_model *m, const learn_example *ex, const example_nodes *nodes,
		       size_t n, int folds, int skip_fold, double c)
{
	return train_head(ex, nodes, n, false, folds, skip_fold, c, m->w_cat, m->b_cat) &&
	       train_head(ex, nodes, n, true, folds, skip_fold, c, m->w_sev, m->b_sev);
}

/* Whether the rubric may learn from an example: its severity is not decided by its
 * labels (a resolved alert is low and a non-production one at most medium, whatever the
 * rubric says). */
static bool rubric_usable(const learn_example *e)
{
	int lsev, nonprod, prod, resolved;
	learn_label_evidence(&e->in, &lsev, &nonprod, &prod, &resolved);
	return !resolved && !(nonprod && !prod);
}

/* Example i is usable and of category c from the given source (history or corpus). */
static bool rubric_example(const learn_example *ex, const bool *usable, size_t i, int c,
			   bool history)
{
	return usable[i] && ex[i].history == history && ex[i].category == c;
}

/* The offsets theta of category c for which p_sev x exp(theta) best fits the severities
 * of the chosen examples (maximum likelihood over held-out predictions) under an L2
 * prior of strength RUBRIC_L2 centred on prior. Convex: gradient descent with step
 * 1 / (n/2 + RUBRIC_L2). */
static void fit_offsets(const learn_example *ex, const learn_prediction *held, const bool *usable,
			size_t n, int c, bool history, const double *prior, double *theta)
{
	double count = 0;
	for (int h = 0; h < LEARN_NSEV; h++)
		theta[h] = prior[h];
	for (size_t i = 0; i < n; i++)
		count += rubric_example(ex, usable, i, c, history);
	if (count == 0)
		return;
	double step = 1.0 / (count / 2 + RUBRIC_L2);
	for (int it = 0; it < RUBRIC_ITERATIONS; it++) {
		double g[LEARN_NSEV];
		for (int h = 0; h < LEARN_NSEV; h++)
			g[h] = RUBRIC_L2 * (theta[h] - prior[h]);
		for (size_t i = 0; i < n; i++) {
			if (!rubric_example(ex, usable, i, c, history))
				continue;
			double q[LEARN_NSEV], sum = 0;
			for (int h = 0; h < LEARN_NSEV; h++)
				sum += q[h] = held[i].p_sev[h] * exp(theta[h]);
			for (int h = 0; h < LEARN_NSEV; h++)
				g[h] += q[h] / sum - (h == ex[i].severity);
		}
		for (int h = 0; h < LEARN_NSEV; h++)
			theta[h] -= step * g[h];
	}
}

/* This deployment's rubric: where its responders' severities depart from the corpus's,
 * relative to the same held-out predictions. For each category, the offsets that fit
 * the corpus's labels (theta0: how the heads lean, whoever labels) and those that fit
 * the history's labels with a prior centred on theta0; the rubric is their difference.
 * With few history labels, or labels that agree with the corpus, it stays near 0; where
 * the team's rubric differs (every security incident critical), it grows. A category's
 * rubric is kept only when it explains the history's labels better by more than the BIC
 * penalty: without that gate, offsets fitted to ten labels that agree with the corpus
 * were noise that flipped the flat severity posteriors of other categories (learn-eval
 * --team-curve 8 on 688 train incidents: -3.2 points without the gate, +6.2 with it). */
static bool fit_rubric(learn_model *m, const learn_example *ex, const learn_prediction *held,
		       size_t n)
{
	static const double zero[LEARN_NSEV] = {0};
	bool *usable = malloc(n * sizeof *usable);
	if (!usable)
		return false;
	for (size_t i = 0; i < n; i++)
		usable[i] = rubric_usable(&ex[i]);
	for (int c = 0; c < LEARN_NCAT; c++) {
		double theta0[LEARN_NSEV], theta[LEARN_NSEV];
		fit_offsets(ex, held, usable, n, c, false, zero, theta0);
		fit_offsets(ex, held, usable, n, c, true, theta0, theta);
		/* how much better the history's own offsets explain its labels */
		double gain = 0, cnt = 0;
		for (size_t i = 0; i < n; i++) {
			if (!rubric_example(ex, usable, i, c, true))
				continue;
			double s0 = 0, s1 = 0;
			for (int h = 0; h < LEARN_NSEV; h++)
				s0 += held[i].p_sev[h] * exp(theta0[h]), s1 += held[i].p_sev[h] * exp(theta[h]);
			int y = ex[i].severity;
			gain += (theta[y] - log(s1)) - (theta0[y] - log(s0));
			cnt++;
		}
		/* BIC: three more free parameters must earn 3/2 log n of log-likelihood */
		if (cnt == 0 || gain < 1.5 * log(cnt))
			continue;
		for (int h = 0; h < LEARN_NSEV; h++) {
			double t = theta[h] - theta0[h];
			t = t > LEARN_RUBRIC_MAX ? LEARN_RUBRIC_MAX : t;
			m->rubric[c][h] = (float)(t < -LEARN_RUBRIC_MAX ? -LEARN_RUBRIC_MAX : t);
		}
	}
	free(usable);
	return true;
}

/* Held-out predictions for every example (each by the heads of a model trained on the
 * other folds), the rubric fitted to them, then the three calibration maps of the
 * predictions the final model will make (with the rubric). */
static bool calibrate(learn_model *final, const learn_example *ex, const example_nodes *nodes,
		      size_t n, int folds, double c)
{
	bool ok = false;
	learn_model *fm = learn_model_new();
	learn_prediction *held = malloc(n * sizeof *held);
	double *sc = malloc(n * sizeof *sc), *ss = malloc(n * sizeof *ss), *sj = malloc(n * sizeof *sj);
	bool *rc = malloc(n * sizeof *rc), *rs = malloc(n * sizeof *rs), *rj = malloc(n * sizeof *rj);
	if (!fm || !held || !sc || !ss || !sj || !rc || !rs || !rj)
		goto out;
	for (int fold = 0; fold < folds; fold++) {
		if (!train_into(fm, ex, nodes, n, folds, fold, c))
			goto out;
		for (size_t i = (size_t)fold; i < n; i += (size_t)folds)
			learn_predict_heads(fm, &ex[i].in, &held[i]);
	}
	if (!fit_rubric(final, ex, held, n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		learn_prediction *p = &held[i];
		learn_predict_finish(final, &ex[i].in, NULL, 0, p); /* no maps yet: identity */
		sc[i] = p->p_cat[p->category], rc[i] = p->category == ex[i].category;
		ss[i] = p->p_sev[p->severity], rs[i] = p->severity == ex[i].severity;
		sj[i] = sc[i] * ss[i], rj[i] = rc[i] && rs[i];
	}
	ok = learn_calib_fit(&final->cal_cat, sc, rc, n) && learn_calib_fit(&final->cal_sev, ss, rs, n) &&
	     learn_calib_fit(&final->cal_joint, sj, rj, n);
out:
	learn_model_free(fm);
	free(held);
	free(sc), free(ss), free(sj), free(rc), free(rs), free(rj);
	return ok;
}

learn_model *learn_train(const learn_example *ex, size_t n, const learn_train_opts *opts,
			 char *why, size_t whylen)
{
	learn_model *m = NULL;
	example_nodes *nodes = NULL;
	learn_feat *f = malloc((LEARN_FEATURES_MAX + 1) * 2 * sizeof *f);
	const char *err = "out of memory";
	if (!f)
		goto out;
	err = "no examples to learn from";
	if (n == 0)
		goto out;
	err = "an example has a label out of range or no weight";
	for (size_t i = 0; i < n; i++)
		if (ex[i].category < 0 || ex[i].category >= LEARN_NCAT || ex[i].severity < 0 ||
		    ex[i].severity >= LEARN_NSEV || ex[i].weight < 1)
			goto out;
	err = "out of memory";
	set_print_string_function(quiet);
	nodes = calloc(n, sizeof *nodes);
	m = learn_model_new();
	if (!nodes || !m)
		goto out;
	for (size_t i = 0; i < n; i++) {
		learn_feat *fs = f + LEARN_FEATURES_MAX + 1;
		size_t k = learn_features(&ex[i].in, true, f, LEARN_FEATURES_MAX);
		nodes[i].cat = to_nodes(f, k);
		k = learn_features(&ex[i].in, false, f, LEARN_FEATURES_MAX);
		size_t ks = learn_with_category(f, k, ex[i].category, fs);
		nodes[i].sev = to_nodes(fs, ks);
		if (!nodes[i].cat || !nodes[i].sev)
			goto out;
	}
	int folds = opts ? opts->folds : LEARN_DEFAULT_FOLDS;
	double c = opts && opts->c > 0 ? opts->c : LEARN_DEFAULT_C;
	if (folds >= 2 && (size_t)folds <= n && !calibrate(m, ex, nodes, n, folds, c))
		goto out;
	if (!train_into(m, ex, nodes, n, 0, -1, c))
		goto out;
	m->examples = 0;
	for (size_t i = 0; i < n; i++)
		m->examples += ex[i].weight;
	err = NULL;
out:
	for (size_t i = 0; nodes && i < n; i++) {
		free(nodes[i].cat);
		free(nodes[i].sev);
	}
	free(nodes);
	free(f);
	if (err) {
		snprintf(why, whylen, "%s", err);
		learn_model_free(m);
		return NULL;
	}
	return m;
}
