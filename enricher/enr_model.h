/* enr_model: the enricher's copy of the built-in model. Jobs name the newest version the
 * store has; a worker that needs a newer one than this process holds fetches it from the
 * store (query op model_get, in parts) without a restart, and triages with it. */
#ifndef ENR_MODEL_H
#define ENR_MODEL_H

#include <stdint.h>

#include "learn_model.h"
#include "triage.h"

typedef struct enr_model enr_model;

/* A holder that will fetch from the store's REP socket at store_url (dialled at the first
 * fetch), waiting at most timeout_ms per part. NULL when out of memory. */
enr_model *enr_model_new(const char *store_url, long timeout_ms);

/* Frees the holder; every acquired model must have been released. NULL is ok. */
void enr_model_free(enr_model *em);

/* The newest model this process holds, after fetching version `want` first if it is
 * newer than that (0: no fetch). A failed fetch is logged and not retried for a second;
 * the older model (or none) is used meanwhile. Returns NULL when there is no model at
 * all. Thread-safe; the model stays valid until enr_model_release(em, m). */
const learn_model *enr_model_acquire(enr_model *em, int64_t want);
void enr_model_release(enr_model *em, const learn_model *m);

/* A triage by model m: severity and category from learn_predict (with in's labelled
 * neighbours voting), calibrated confidence, summary and actions written as the rules
 * backend writes them; provenance backend "model", model "linear-v<version>",
 * prompt_version LEARN_FEATURES_VERSION. Pure, thread-safe. */
void enr_model_triage(const learn_model *m, const triage_incident *in, triage_result *out);

#endif
