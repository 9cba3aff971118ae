/* learn_model: the built-in triage model — two linear heads over hashed features
 * (category, then severity with the predicted category as one more feature), the
 * deployment's rubric, calibration maps, prediction, kNN votes, and the versioned
 * binary form stored in PostgreSQL and sent to enrichers. */
#ifndef LEARN_MODEL_H
#define LEARN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn_features.h"

#define LEARN_NCAT 9
#define LEARN_NSEV 4
#define LEARN_CALIB_MAX 64           /* knots of one calibration map */
#define LEARN_BLOB_MAX (8u << 20)    /* a serialized model is never larger */

extern const char *const learn_categories[LEARN_NCAT]; /* the order of triage_categories */
extern const char *const learn_severities[LEARN_NSEV]; /* critical..low */
int learn_category_index(const char *name); /* -1 if unknown */
int learn_severity_index(const char *name);

/* A monotone map from a raw probability to the observed frequency of being right
 * (isotonic regression over held-out predictions), linear between knots. */
typedef struct {
	size_t n;
	float x[LEARN_CALIB_MAX];
	float y[LEARN_CALIB_MAX];
} learn_calib;

double learn_calib_apply(const learn_calib *c, double p); /* identity when n == 0 */

/* Fits c to n (score, right) pairs by pool-adjacent-violators. Reorders nothing in the
 * inputs (copies them). Returns false when out of memory (c then empty). */
bool learn_calib_fit(learn_calib *c, const double *score, const bool *right, size_t n);

typedef struct {
	int64_t version;          /* the row in triage_models; 0 before it is stored */
	int32_t examples;         /* training examples (with repeats) */
	float *w_cat;             /* LEARN_NBUCKETS x LEARN_NCAT, row per bucket */
	float *w_sev;             /* LEARN_NBUCKETS x LEARN_NSEV, cumulative (see below) */
	float b_cat[LEARN_NCAT];  /* biases; a class never seen has a large negative bias */
	float b_sev[LEARN_NSEV];
	learn_calib cal_cat;      /* P(category right | top category probability) */
	learn_calib cal_sev;      /* P(severity right | top severity probability) */
	learn_calib cal_joint;    /* P(both right | product of the two) */
	/* This deployment's rubric: log-odds added to the severity head's output for an
	 * incident of category c (at prediction, each category's, weighed by its
	 * probability), fitted to its responders' labels (all zero without them;
	 * |value| <= LEARN_RUBRIC_MAX). */
	float rubric[LEARN_NCAT][LEARN_NSEV];
} learn_model;

/* A past incident close to this one (fed from the job's similar incidents). */
typedef struct {
	int severity;        /* 0..3, or -1 */
	int category;        /* 0..8, or -1 */
	bool human_labelled; /* a responder set or confirmed these labels */
	double score;        /* similarity 0..1 */
	int64_t incident_id; /* to say which voted */
} learn_neighbour;

typedef struct {
	int category, severity;  /* indices */
	double p_cat[LEARN_NCAT];
	double p_sev[LEARN_NSEV];
	double conf_category;    /* calibrated */
	double conf_severity;    /* calibrated */
	double confidence;       /* calibrated P(both right): the triage's confidence */
	double knn_share;        /* 0..1: how much labelled neighbours weighed in */
	int knn_votes;           /* neighbours that voted */
} learn_prediction;

/* A zeroed model with its weight arrays allocated; NULL when out of memory. */
learn_model *learn_model_new(void);
void learn_model_free(learn_model *m);

/* A head's probabilities for features f (n). Category: one-vs-rest logistic outputs,
 * normalised to sum to 1 (as LIBLINEAR's predict_probability). Severity, an ordered
 * scale: cumulative logistic outputs P(severity <= t) for t = critical, high, medium
 * (w_sev's first three columns; the fourth is unused), differenced. */
void learn_model_probs(const learn_model *m, const learn_feat *f, size_t n, bool severity_head,
		       double *p);

/* The severity head's features: the incident's, plus the category as one feature.
 * out needs n + 1 entries; returns the count (sorted, unique). */
size_t learn_with_category(const learn_feat *f, size_t n, int category, learn_feat *out);

#define LEARN_RUBRIC_MAX 12.0f

/* Predicts one incident: both heads, the kNN votes of nb (may be NULL/0), the rubric
 * offsets of every category mixed by the category's probability, post-steps from the labels (resolved -> low; non-production
 * without production named -> at most medium), and calibrated confidences. Pure,
 * thread-safe on a shared model. learn_predict is learn_predict_heads then
 * learn_predict_finish (the trainer runs the two apart: the heads of models trained
 * without an example, the rest with the final model's rubric). */
void learn_predict(const learn_model *m, const learn_input *in, const learn_neighbour *nb,
		   size_t nnb, learn_prediction *out);
/* Zeroes out, then the two heads' probabilities (p_cat, p_sev) and out->category. */
void learn_predict_heads(const learn_model *m, const learn_input *in, learn_prediction *out);
void learn_predict_finish(const learn_model *m, const learn_input *in, const learn_neighbour *nb,
			  size_t nnb, learn_prediction *out);

/* kNN: neighbours that are human-labelled and at least LEARN_KNN_MIN_SCORE similar vote
 * with their score; their share is W / (W + LEARN_KNN_PRIOR), capped at LEARN_KNN_CAP,
 * and p becomes (1 - share) p + share votes. Returns the share; *votes the voters. */
#define LEARN_KNN_MIN_SCORE 0.5
#define LEARN_KNN_PRIOR 1.0
#define LEARN_KNN_CAP 0.8
double learn_knn_blend(const learn_neighbour *nb, size_t n, double *p_cat, double *p_sev,
		       int *votes);

/* Whether this neighbour votes (labelled by a human, close enough, with a label). */
bool learn_knn_votes(const learn_neighbour *nb);

/* Serialization (little-endian, versioned, checked on read). learn_model_write returns a
 * malloc'd blob (*len bytes; caller frees) or NULL when out of memory. learn_model_read
 * parses untrusted bytes: NULL (and why) on any inconsistency, and for a model of another
 * format or trained on other features (LEARN_FEATURES_VERSION) than this build's, so an
 * enricher never applies weights to features they were not trained on; the caller frees
 * with learn_model_free. */
unsigned char *learn_model_write(const learn_model *m, size_t *len);
learn_model *learn_model_read(const unsigned char *blob, size_t len, char *why, size_t whylen);

#endif
