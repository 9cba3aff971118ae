/* gw_store_int: the store client's state, shared by gw_store.c (calls, slots, sockets,
 * confirmations) and gw_store_batch.c (submits coalesced into SUBMIT_BATCH requests).
 * Internal to those two files. */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_store.h"
#include "proto.h"

enum { GW_CALL_IDLE, GW_CALL_SENDING, GW_CALL_RECEIVING, GW_CALL_DONE, GW_CALL_QUEUED };

#define GW_STORE_SOCKETS 2
#define GW_RESEND_MS (24 * 3600 * 1000) /* longer than any deadline (see gw_store_call) */
#define GW_CONFIRMS_KEPT 1024 /* confirmations waiting for the next submit; older dropped */
/* SUBMIT_BATCH requests in flight at once: with 2, a store's writers commit one while
 * the next forms (measured at 64 connections: 2 took about 10% less CPU per submit in
 * the gateway and the store than 4, and 8 more again) */
#define GW_BATCHES 2

struct gw_call {
	gw_store *store;
	nng_ctx ctx;
	nng_aio *aio;
	bool opened;
	int state;
	int rc;
	int64_t deadline_ms;
	bool is_submit;
	nng_msg *reply;
	gw_call_done_fn done;
	void *arg;
	char request_id[PROTO_SHORT_MAX + 1];
	gw_call *next_free;
	/* a submit that travels in a batch (in_batch): packed while it waits in the queue
	 * (next_queued), its own reply (a PROTO_REPLY) once the batch's reply is in */
	bool in_batch;
	proto_packed packed;
	proto_msg item_reply;
	gw_call *next_queued;
};

/* One SUBMIT_BATCH exchange: its own context and aio, and the calls it carries. */
typedef struct gw_batch {
	gw_store *store;
	size_t index;
	nng_ctx ctx;
	nng_aio *aio;
	bool opened;
	int state;
	int64_t deadline_ms;
	gw_call *items[PROTO_BATCH_MAX];
	size_t n;
	char request_id[GW_REQUEST_ID_LEN + 1];
	struct gw_batch *next_idle;
} gw_batch;

struct gw_store {
	nng_socket socks[GW_STORE_SOCKETS];
	size_t nsocks;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* starting reached 0 */
	bool closing;
	int starting; /* calls between taking a slot and posting their send */
	gw_call *free_list;
	size_t nslots;
	gw_call *slots;
	/* request ids of submits answered 2xx, not yet told to the store (under mu): a
	 * ring; the next submits carry them (proto.h, confirms) */
	char (*confirms)[GW_REQUEST_ID_LEN + 1];
	size_t confirm_head, confirm_n;
	/* batching: submits per batch (1: off); what the store's last reply said it takes
	 * (0: one by one); under mu: the submits waiting for a batch, the idle batches */
	size_t batch_max;
	atomic_int store_batch_max;
	gw_call *queue_head, *queue_tail;
	gw_batch batches[GW_BATCHES];
	gw_batch *idle_batches;
};

/* Copies up to PROTO_CONFIRMS_MAX waiting confirmations into ids (ptrs point at them)
 * and returns how many; gw_confirms_sent drops them from the ring once they are encoded
 * (unless the ring moved past them meanwhile). */
size_t gw_confirms_take(gw_store *s, char ids[][GW_REQUEST_ID_LEN + 1], char **ptrs);
void gw_confirms_sent(gw_store *s, const char *first, size_t n);

/* Maps an nng error to a tr_err. */
int gw_map_nng(int rv);

/* Ends a call: records rc and runs its done() (the call may be released at once). */
void gw_call_finish(gw_call *c, int rc);

/* Queues submit call c (packed, state QUEUED) for the next batch, and sends a batch if
 * one is idle. Any thread but a batch's own callback. */
void gw_batch_enqueue(gw_store *s, gw_call *c);

/* Sets up the batches (gw_store_open); cancels them and ends the queued calls with
 * TR_ERR_UNAVAILABLE (gw_store_shutdown, with closing set); frees them (gw_store_close). */
void gw_batches_init(gw_store *s);
void gw_batches_shutdown(gw_store *s);
void gw_batches_free(gw_store *s);

#endif
