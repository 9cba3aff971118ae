/* learn_corpus: the labelled corpus in the repository (data/corpus/{train,test}, JSONL files), one
 * incident per line with its labels and a one-line reason, loaded as training examples. */
#ifndef LEARN_CORPUS_H
#define LEARN_CORPUS_H

#include <stddef.h>

#include "learn_train.h"

/* Owns everything: the examples' strings point into json documents kept here. */
typedef struct {
	learn_example *ex;
	size_t n;
	void **docs;   /* json_t*, one per example */
	void **labels; /* proto_kv arrays, one per example */
} learn_corpus;

/* Loads every *.jsonl file of dir, in name order. Each line is one JSON object:
 *   title (1..200 chars), description, source?, service?, labels? {string: string},
 *   severity, category (the enums), reason (non-empty: why these labels).
 * Blank lines are skipped; any other bad line fails the whole load, naming file and
 * line in why. Example weight is 1. Returns 0 or -1; free with learn_corpus_free. */
int learn_corpus_load(const char *dir, learn_corpus *out, char *why, size_t whylen);
void learn_corpus_free(learn_corpus *c);

#endif
