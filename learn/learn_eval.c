/* learn_eval: trains the built-in model on the corpus's train split and measures it on the
 * test split: accuracy, confusion matrices, calibration (ECE). With --floor-* it exits 1
 * when an accuracy is below its floor (the regression test). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learn_corpus.h"
#include "learn_train.h"

#define BINS 10

static double ece(const double *conf, const int *right, size_t n, FILE *out, const char *name)
{
	double sc[BINS] = {0}, sr[BINS] = {0}, e = 0;
	size_t cnt[BINS] = {0};
	for (size_t i = 0; i < n; i++) {
		int b = (int)(conf[i] * BINS);
		b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
		sc[b] += conf[i], sr[b] += right[i], cnt[b]++;
	}
	fprintf(out, "  %s reliability (bin: n, mean confidence -> accuracy):\n", name);
	for (int b = 0; b < BINS; b++) {
		if (!cnt[b])
			continue;
		fprintf(out, "    %.1f-%.1f: %3zu, %.2f -> %.2f\n", b / 10.0, (b + 1) / 10.0, cnt[b],
			sc[b] / cnt[b], sr[b] / cnt[b]);
		e += (double)cnt[b] / n * (sc[b] > sr[b] ? sc[b] - sr[b] : sr[b] - sc[b]) / cnt[b];
	}
	return e;
}

static void confusion(FILE *out, const char *title, const char *const *names, int k,
		      const int *truth, const int *pred, size_t n)
{
	fprintf(out, "%s confusion (rows: truth, columns: predicted)\n%12s", title, "");
	for (int j = 0; j < k; j++)
		fprintf(out, " %5.5s", names[j]);
	fprintf(out, "\n");
	for (int i = 0; i < k; i++) {
		fprintf(out, "%12s", names[i]);
		for (int j = 0; j < k; j++) {
			int c = 0;
			for (size_t x = 0; x < n; x++)
				c += truth[x] == i && pred[x] == j;
			fprintf(out, " %5d", c);
		}
		fprintf(out, "\n");
	}
}

/* The fold of example i in repeat r of a k-fold cross-validation: position modulo k in
 * the first repeat, a seeded shuffle of the positions in the others. */
static void assign_folds(int *fold, size_t n, int k, int r)
{
	size_t *perm = malloc(n * sizeof *perm);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(r + 1);
	for (size_t i = n; r > 0 && i > 1; i--) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t j = (size_t)(x % i), t = perm[i - 1];
		perm[i - 1] = perm[j], perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		fold[perm[i]] = (int)(i % (size_t)k);
	free(perm);
}

/* k-fold accuracy on the train split alone (what any tuning may look at), repeated
 * with reps fold assignments; the confusion matrices of the first, and with show its
 * mistakes. The examples of also (--also DIR: candidate training incidents) join every
 * fold's training and are never measured, so what they add is measured on the same
 * incidents as without them. */
static int cross_validate(const learn_corpus *train, const learn_corpus *also, int k, int reps,
			  int show)
{
	size_t n = train->n, okc = 0, oks = 0;
	learn_example *sub = malloc((n + also->n) * sizeof *sub);
	int *fold = malloc(n * sizeof *fold), *tc = malloc(n * sizeof *tc), *pc = malloc(n * sizeof *pc),
	    *ts = malloc(n * sizeof *ts), *ps = malloc(n * sizeof *ps);
	if (!sub || !fold || !tc || !pc || !ts || !ps)
		return 2;
	learn_train_opts o = {.c = getenv("LEARN_C") ? atof(getenv("LEARN_C")) : 0, .folds = 0};
	for (int r = 0; r < reps; r++) {
		assign_folds(fold, n, k, r);
		for (int f = 0; f < k; f++) {
			size_t m = 0;
			for (size_t i = 0; i < n; i++)
				if (fold[i] != f)
					sub[m++] = train->ex[i];
			for (size_t i = 0; i < also->n; i++)
				sub[m++] = also->ex[i];
			char why[200];
			learn_model *mod = learn_train(sub, m, &o, why, sizeof why);
			if (!mod)
				return 2;
			for (size_t i = 0; i < n; i++) {
				if (fold[i] != f)
					continue;
				learn_prediction p;
				learn_predict(mod, &train->ex[i].in, NULL, 0, &p);
				okc += p.category == train->ex[i].category;
				oks += p.severity == train->ex[i].severity;
				const learn_example *e = &train->ex[i];
				if (r == 0 && show && (p.category != e->category || p.severity != e->severity))
					printf("XX %-8s %-11s (want %-8s %-11s) %.90s\n",
					       learn_severities[p.severity], learn_categories[p.category],
					       learn_severities[e->severity], learn_categories[e->category],
					       e->in.title);
				if (r == 0) {
					tc[i] = train->ex[i].category, pc[i] = p.category;
					ts[i] = train->ex[i].severity, ps[i] = p.severity;
				}
			}
			learn_model_free(mod);
		}
	}
	printf("%d-fold cross-validation on the train split (%zu incidents, %d repeat%s, %zu more in "
	       "every fold's training): category %.1f%%, severity %.1f%%\n", k, n, reps,
	       reps > 1 ? "s" : "", also->n,
	       100.0 * okc / ((double)n * reps), 100.0 * oks / ((double)n * reps));
	confusion(stdout, "cross-validated category", learn_categories, LEARN_NCAT, tc, pc, n);
	confusion(stdout, "cross-validated severity", learn_severities, LEARN_NSEV, ts, ps, n);
	free(sub), free(fold), free(tc), free(pc), free(ts), free(ps);
	return 0;
}

/* The learning curve of bench/learning.py, simulated on the train split alone: a team
 * labels every security incident critical and every dependency incident low. Fold f is
 * measured, fold f + 1 is the history its responders corrected (weight hist_weight), the
 * rest is the corpus (with the examples of --also). Severity accuracy against the team's
 * labels before and after the corrections. */
static void team_label(const learn_example *e, int *sev, int *cat)
{
	*cat = e->category;
	*sev = e->category == learn_category_index("security")     ? learn_severity_index("critical")
	       : e->category == learn_category_index("dependency") ? learn_severity_index("low")
								   : e->severity;
}

/* One round: fold f measured, fold h corrected, the others the corpus. Adds to
 * counts: measured, severity right before, after, category right before, after; then
 * measured, severity right before, after of the security and dependency incidents (whose
 * labels the team changed), and the same of the others. */
static int team_round(const learn_corpus *train, const learn_corpus *also, const int *fold, int f,
		      int h, int hist_weight, learn_example *sub, size_t counts[11])
{
	learn_train_opts o = {.c = 0, .folds = LEARN_DEFAULT_FOLDS}; /* as the store trains */
	size_t n = train->n, m = 0;
	char why[200];
	for (size_t i = 0; i < n; i++)
		if (fold[i] != f && fold[i] != h)
			sub[m++] = train->ex[i];
	for (size_t i = 0; i < also->n; i++)
		sub[m++] = also->ex[i];
	learn_model *corpus_only = learn_train(sub, m, &o, why, sizeof why);
	for (size_t i = 0; i < n; i++) {
		if (fold[i] != h)
			continue;
		sub[m] = train->ex[i];
		team_label(&train->ex[i], &sub[m].severity, &sub[m].category);
		sub[m].weight = hist_weight;
		sub[m++].history = true;
	}
	learn_model *corrected = corpus_only ? learn_train(sub, m, &o, why, sizeof why) : NULL;
	for (size_t i = 0; corrected && i < n; i++) {
		if (fold[i] != f)
			continue;
		int sev, cat;
		team_label(&train->ex[i], &sev, &cat);
		learn_prediction p0, p1;
		learn_predict(corpus_only, &train->ex[i].in, NULL, 0, &p0);
		learn_predict(corrected, &train->ex[i].in, NULL, 0, &p1);
		counts[0]++;
		counts[1] += p0.severity == sev, counts[2] += p1.severity == sev;
		counts[3] += p0.category == cat, counts[4] += p1.category == cat;
		size_t *g = counts + (cat == learn_category_index("security") ||
				      cat == learn_category_index("dependency") ? 5 : 8);
		g[0]++, g[1] += p0.severity == sev, g[2] += p1.severity == sev;
	}
	int rc = corrected ? 0 : 2;
	learn_model_free(corpus_only);
	learn_model_free(corrected);
	return rc;
}

static int team_curve(const learn_corpus *train, const learn_corpus *also, int k, int reps,
		      int hist_weight)
{
	size_t n = train->n, counts[11] = {0};
	learn_example *sub = malloc((n + also->n) * sizeof *sub);
	int *fold = malloc(n * sizeof *fold);
	int rc = sub && fold ? 0 : 2;
	for (int r = 0; rc == 0 && r < reps; r++) {
		assign_folds(fold, n, k, r);
		for (int f = 0; rc == 0 && f < k; f++)
			rc = team_round(train, also, fold, f, (f + 1) % k, hist_weight, sub, counts);
	}
	free(sub), free(fold);
	if (rc != 0 || counts[0] == 0)
		return 2;
	double all = (double)counts[0];
	printf("team rubric (security critical, dependency low), %d folds of the train split, %d "
	       "repeat%s (one measured, the next corrected, history weight %d): severity %.1f%% -> "
	       "%.1f%% (%+.1f points), category %.1f%% -> %.1f%%\n", k, reps, reps > 1 ? "s" : "",
	       hist_weight, 100.0 * counts[1] / all, 100.0 * counts[2] / all,
	       100.0 * ((double)counts[2] - (double)counts[1]) / all, 100.0 * counts[3] / all,
	       100.0 * counts[4] / all);
	printf("  severity right: security and dependency %zu -> %zu of %zu, the others %zu -> %zu of "
	       "%zu\n", counts[6], counts[7], counts[5], counts[9], counts[10], counts[8]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *train_dir = NULL, *test_dir = NULL, *also_dir = NULL;
	double floor_cat = -1, floor_sev = -1;
	int cv = 0, reps = 1, show = 0, team = 0, hist_weight = 3;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--train"))
			train_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--also"))
			also_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--test"))
			test_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--floor-category"))
			floor_cat = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--floor-severity"))
			floor_sev = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--show"))
			show = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--cv"))
			cv = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--team-curve"))
			team = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--history-weight"))
			hist_weight = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--repeat"))
			reps = atoi(argv[i + 1]);
	}
	if (!train_dir || !test_dir) {
		fprintf(stderr, "usage: %s --train DIR --test DIR [--floor-category F] "
				"[--floor-severity F] [--show 1] [--cv K [--repeat R]]\n"
				"       [--team-curve K [--history-weight W]] [--also DIR]\n", argv[0]);
		return 2;
	}
	char why[512];
	learn_corpus train, test, also = {.n = 0};
	if (learn_corpus_load(train_dir, &train, why, sizeof why) != 0 ||
	    learn_corpus_load(test_dir, &test, why, sizeof why) != 0 ||
	    (also_dir && learn_corpus_load(also_dir, &also, why, sizeof why) != 0)) {
		fprintf(stderr, "learn_eval: %s\n", why);
		return 2;
	}
	if (team >= 3)
		return team_curve(&train, &also, team, reps < 1 ? 1 : reps, hist_weight < 1 ? 1 : hist_weight);
	if (cv >= 2)
		return cross_validate(&train, &also, cv, reps < 1 ? 1 : reps, show);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	learn_model *m = learn_train(train.ex, train.n, NULL, why, sizeof why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!m) {
		fprintf(stderr, "learn_eval: %s\n", why);
		return 2;
	}
	size_t n = test.n, blob_len = 0;
	unsigned char *blob = learn_model_write(m, &blob_len);
	free(blob);
	int *tc = calloc(n, sizeof(int)), *pc = calloc(n, sizeof(int)), *ts = calloc(n, sizeof(int)),
	    *ps = calloc(n, sizeof(int)), *rc = calloc(n, sizeof(int)), *rs = calloc(n, sizeof(int)),
	    *rj = calloc(n, sizeof(int));
	double *cc = calloc(n, sizeof(double)), *cs = calloc(n, sizeof(double)),
	       *cj = calloc(n, sizeof(double));
	if (!tc || !pc || !ts || !ps || !rc || !rs || !rj || !cc || !cs || !cj)
		return 2;
	size_t okc = 0, oks = 0, okj = 0;
	for (size_t i = 0; i < n; i++) {
		learn_prediction p;
		learn_predict(m, &test.ex[i].in, NULL, 0, &p);
		tc[i] = test.ex[i].category, pc[i] = p.category;
		ts[i] = test.ex[i].severity, ps[i] = p.severity;
		rc[i] = tc[i] == pc[i], rs[i] = ts[i] == ps[i], rj[i] = rc[i] && rs[i];
		cc[i] = p.conf_category, cs[i] = p.conf_severity, cj[i] = p.confidence;
		okc += (size_t)rc[i], oks += (size_t)rs[i], okj += (size_t)rj[i];
		if (show)
			printf("%s %-8s %-11s (want %-8s %-11s) %.2f  %.70s\n", rc[i] && rs[i] ? "  " : "XX",
			       learn_severities[ps[i]], learn_categories[pc[i]], learn_severities[ts[i]],
			       learn_categories[tc[i]], p.confidence, test.ex[i].in.title);
	}
	double acc_c = (double)okc / n, acc_s = (double)oks / n;
	printf("built-in model (%s): trained on %zu incidents of %s in %.2f s, model %zu bytes\n",
	       LEARN_FEATURES_VERSION, train.n, train_dir,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, blob_len);
	printf("test split: %zu incidents of %s (never used to tune anything)\n", n, test_dir);
	printf("  category accuracy  %.1f%% (%zu/%zu)\n", 100 * acc_c, okc, n);
	printf("  severity accuracy  %.1f%% (%zu/%zu)\n", 100 * acc_s, oks, n);
	printf("  both right         %.1f%% (%zu/%zu)\n", 100 * (double)okj / n, okj, n);
	confusion(stdout, "category", learn_categories, LEARN_NCAT, tc, pc, n);
	confusion(stdout, "severity", learn_severities, LEARN_NSEV, ts, ps, n);
	double e_c = ece(cc, rc, n, stdout, "category confidence");
	double e_s = ece(cs, rs, n, stdout, "severity confidence");
	double e_j = ece(cj, rj, n, stdout, "triage confidence (both right)");
	printf("  expected calibration error: category %.3f, severity %.3f, triage confidence %.3f\n",
	       e_c, e_s, e_j);
	int rcode = 0;
	if (floor_cat >= 0 && acc_c < floor_cat) {
		fprintf(stderr, "FAIL: category accuracy %.3f below the floor %.3f\n", acc_c, floor_cat);
		rcode = 1;
	}
	if (floor_sev >= 0 && acc_s < floor_sev) {
		fprintf(stderr, "FAIL: severity accuracy %.3f below the floor %.3f\n", acc_s, floor_sev);
		rcode = 1;
	}
	free(tc), free(pc), free(ts), free(ps), free(rc), free(rs), free(rj), free(cc), free(cs), free(cj);
	learn_model_free(m);
	learn_corpus_free(&train);
	learn_corpus_free(&test);
	learn_corpus_free(&also);
	return rcode;
}
