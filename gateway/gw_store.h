/* gw_store: the gateway's client of the store: a couple of nng REQ sockets (resends off)
 * and a bounded pool of contexts, each with its own aio, so many requests are in flight
 * at once and no thread waits for an answer. Each call ends, exactly once, with a
 * callback from an nng thread: the reply arrived, the timeout passed, or the client
 * was shut down. */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>

#include "proto.h"

#define GW_REQUEST_ID_LEN 32 /* hex digits of a random 128-bit request id */

typedef struct gw_store gw_store;
typedef struct gw_call gw_call;

/* Called once per call, on an nng thread; must not block. */
typedef void (*gw_call_done_fn)(void *arg);

/* Dials url (non-blocking: the store may start later). max_inflight bounds the pool.
 * Free with gw_store_close(). */
int gw_store_open(const char *url, size_t max_inflight, gw_store **out);

/* Submits travel to the store up to batch_max (1..PROTO_BATCH_MAX; 1: one each, the
 * default) in one SUBMIT_BATCH, once the store's replies say it takes them: those
 * waiting while GW_BATCHES batches are in flight go in the next one. Before any call. */
void gw_store_set_batch(gw_store *s, size_t batch_max);

/* Starts a request: msg (a PROTO_SUBMIT or PROTO_QUERY whose request_id was made by
 * gw_request_id) is encoded and sent; done(arg) follows within about timeout_ms.
 * Every call is sent with deadline_ms = now + timeout_ms (the store commits nothing it
 * cannot answer in time); a SUBMIT also with the request ids of earlier submits whose reply
 * arrived in time (confirms: their incidents no longer match a retry_key).
 * Returns TR_OK and *out, or TR_ERR_UNAVAILABLE (pool exhausted, shutting down) /
 * TR_ERR_INVALID (encoding) with no callback to come. */
int gw_store_call(gw_store *s, const proto_msg *msg, int timeout_ms, gw_call_done_fn done,
		  void *arg, gw_call **out);

/* After done: the outcome. TR_OK with *reply decoded (a PROTO_REPLY for this request;
 * free with proto_msg_free), or TR_ERR_TIMEOUT / TR_ERR_UNAVAILABLE / TR_ERR_PROTO. */
int gw_call_result(gw_call *c, proto_msg *reply);

/* Returns the call to the pool; only after done. c is invalid afterwards. */
void gw_call_release(gw_call *c);

/* Refuses new calls and ends every call in flight (done runs with TR_ERR_UNAVAILABLE,
 * soon, on nng's threads). Calls must still be released before gw_store_close. */
void gw_store_shutdown(gw_store *s);

/* Frees the client; every call must have been released. */
void gw_store_close(gw_store *s);

/* Writes a random 128-bit request id as 32 hex digits and a NUL. */
void gw_request_id(char out[GW_REQUEST_ID_LEN + 1]);

#endif
