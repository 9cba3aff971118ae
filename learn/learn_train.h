/* learn_train: trains the built-in model with LIBLINEAR (L2-regularised logistic regression,
 * one-vs-rest), then fits the deployment's rubric and calibration to held-out predictions.
 * Used by the store's trainer and by the offline evaluation (bench, floor test). */
#ifndef LEARN_TRAIN_H
#define LEARN_TRAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "learn_model.h"

typedef struct {
	learn_input in; /* borrowed strings: they outlive the call */
	int category;   /* 0..LEARN_NCAT-1 */
	int severity;   /* 0..LEARN_NSEV-1 */
	int weight;     /* times the example counts (responders' labels count more), >= 1;
			 * in the severity head a history example counts once */
	bool history;   /* this deployment's responders labelled it (the corpus did not):
			 * the rubric is fitted to these */
} learn_example;

#define LEARN_DEFAULT_C 8.0 /* chosen by cross-validation on the train split only */
#define LEARN_DEFAULT_FOLDS 5

typedef struct {
	double c;  /* inverse regularisation */
	int folds; /* calibration folds (2..10); 0 = no calibration (identity maps) */
} learn_train_opts;

/* Trains on ex[0..n). Each example is predicted by a model trained on the other folds
 * (fold = position modulo folds); the rubric (learn_model.rubric, from the history
 * examples) and then isotonic calibration maps are fitted to those held-out predictions;
 * the returned model is then trained on everything. folds 0: neither. Returns NULL
 * with a reason in why when there is nothing to learn from or memory runs out. The
 * caller frees with learn_model_free. Not thread-safe with other LIBLINEAR callers that
 * set a print function (it silences LIBLINEAR's output). */
learn_model *learn_train(const learn_example *ex, size_t n, const learn_train_opts *opts,
			 char *why, size_t whylen);

#endif
