/* store_model: the built-in model's versions as the store serves them: MODEL_GET hands an
 * enricher one part of a stored version (store_train.c writes the versions). */
#ifndef STORE_MODEL_H
#define STORE_MODEL_H

#include "store_query.h"

/* Bytes of model per MODEL_GET reply: base64 makes them 4/3 larger, well inside
 * PROTO_JSON_MAX. */
#define STORE_MODEL_PART 98304

/* MODEL_GET, params version (decimal; absent or 0: the newest) and offset (decimal byte
 * offset; absent: 0). Answers {"version", "size", "offset", "data"} where data is the
 * base64 of at most STORE_MODEL_PART bytes from offset; 404 when there is no such
 * version; 400 for a malformed parameter. */
int store_model_get_run(store_reader *r, store_call *call);

#endif
