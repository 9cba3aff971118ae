/* learn_cues: the cue lexicon of the built-in model: words of every language of the corpus
 * that name a part of the system or say something about impact or urgency, mapped to
 * language-independent cue names the feature extractor hashes as features. */
#ifndef LEARN_CUES_H
#define LEARN_CUES_H

#include <stdbool.h>
#include <stddef.h>

#define LEARN_CUE_TOKEN_MAX 36 /* bytes of a token kept as context */
#define LEARN_CUES_MAX 16      /* cues of one token */

/* The two tokens before the current one (lower-cased; stopwords included), [0] nearest. */
typedef struct {
	char tok[2][LEARN_CUE_TOKEN_MAX];
	size_t len[2];
} learn_cue_prev;

/* The cues of the lower-cased token tok (len bytes) after prev: up to cap names (static
 * strings) into cues. Returns the count. */
size_t learn_cues_word(const learn_cue_prev *prev, const char *tok, size_t len, const char **cues,
		       size_t cap);

/* The cues of a run of Japanese or Chinese text (UTF-8, len bytes). */
size_t learn_cues_cjk(const char *run, size_t len, const char **cues, size_t cap);

#endif
