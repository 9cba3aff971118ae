/* learn_features: the one feature extractor of the built-in model, shared by training (the
 * store) and prediction (the enricher), so both see exactly the same features. */
#ifndef LEARN_FEATURES_H
#define LEARN_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define LEARN_NBITS 16                   /* hashed feature space: 2^16 buckets */
#define LEARN_NBUCKETS (1u << LEARN_NBITS)
#define LEARN_FEATURES_MAX 2048          /* features kept per incident */
#define LEARN_SCAN_MAX 4096              /* description bytes read */
#define LEARN_FEATURES_VERSION "learn-5" /* bump when the features or the heads change */

/* The incident as the model reads it: borrowed strings (NULL = absent). */
typedef struct {
	const char *title;
	const char *description;
	const char *source;
	const char *service;
	const proto_kv *labels;
	size_t nlabels;
} learn_input;

typedef struct {
	uint32_t index; /* bucket, 0..LEARN_NBUCKETS-1 */
	float value;
} learn_feat;

/* Fills out (capacity cap, at least LEARN_FEATURES_MAX) with the incident's features,
 * sorted by index, unique, with unit L2 norm. Features: words and adjacent word pairs
 * (UTF-8 code points, lower-cased for Latin, Polish and Cyrillic letters, split at the
 * punctuation of every script and at CamelCase, long numbers folded; Japanese and Chinese
 * runs as character pairs), with subwords also the character 4-grams of words (the
 * category head uses them), title and alertname words weighing twice the description's;
 * label words; the cues of the lexicon (learn_cues: the part of the system named, impact,
 * urgency, in any language of the corpus), each pair of an impact and an urgency cue, and
 * the size of a share written as a percentage; and structured evidence from labels (the
 * alert's own severity, production or not, resolved). Features only: nothing an
 * incident's text says about itself is obeyed. Pure, thread-safe. Returns the number of
 * features. */
size_t learn_features(const learn_input *in, bool subwords, learn_feat *out, size_t cap);

/* The bucket of a named extra feature (e.g. the predicted category for the severity
 * head): hashed in its own namespace so it never collides by construction with a word. */
uint32_t learn_feature_bucket(const char *ns, const char *name);

/* What the labels say, read the same way as the rules engine reads them: *label_sev is
 * 0..3 (critical..low) or -1; nonprod, prod and resolved are set to 0 or 1. */
void learn_label_evidence(const learn_input *in, int *label_sev, int *nonprod, int *prod,
			  int *resolved);

#endif
