/* store_train: the trainer of the built-in model. A thread that, every
 * TRIAGE_TRAIN_INTERVAL_MS, looks at the labelled history (incidents a responder overrode
 * or confirmed) and, when it changed, retrains from the corpus plus that history and
 * stores a new version in triage_models. */
#ifndef STORE_TRAIN_H
#define STORE_TRAIN_H

#include "store_config.h"

typedef struct store_train store_train;

/* Starts the thread (its own database connection). TR_OK or TR_ERR_NOMEM/INTERNAL. The
 * corpus folder is read once, at the first round; a corpus that cannot be read is
 * logged and training goes on from the history alone. */
int store_train_start(const store_config *cfg, store_train **out);

/* Stops the thread (a training round in progress finishes first) and frees. NULL is ok. */
void store_train_stop(store_train *t);

#endif
