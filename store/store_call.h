/* store_call: one gateway request in flight inside the store, from the REP context that
 * received it to the worker (ingest writer or query reader) that answers it.
 *
 * Ownership: the REP module allocates the call and owns req; a worker fills in the
 * reply fields (json malloc'd; the call takes it) and calls done(call) exactly once,
 * after which the worker must not touch the call again. */
#ifndef STORE_CALL_H
#define STORE_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

typedef struct store_call store_call;
struct store_call {
	proto_msg req;        /* decoded SUBMIT or QUERY */
	int code;             /* tr_err of the reply */
	bool created;
	int64_t incident_id;
	char *json;           /* the reply body */
	void (*done)(store_call *call);
	void *owner;          /* the REP context */
};

/* Sets an error reply {"error": tr_errname(code), "detail": detail}. Returns code. */
int store_call_fail(store_call *call, int code, const char *detail);

/* Sets a successful reply with the json (taken over; NULL means out of memory). */
int store_call_ok(store_call *call, char *json);

#endif
