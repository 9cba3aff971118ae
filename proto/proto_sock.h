/* proto_sock: opening the pipeline's nng sockets the one way they are opened, so no
 * service copies socket setup. Every socket gets NNG_OPT_RECVMAXSZ = PROTO_MAX_MSG and
 * a reconnect backoff; dials are non-blocking (the peer may start later); ipc:// paths
 * get their directory created. nng errors are logged here and returned as tr_err. */
#ifndef PROTO_SOCK_H
#define PROTO_SOCK_H

#include <nng/nng.h>

#include "proto.h"

typedef enum {
	PROTO_SOCK_REP,  /* store: answers gateway requests */
	PROTO_SOCK_REQ,  /* gateway: requests to the store (resends off; use a timeout) */
	PROTO_SOCK_PUB,  /* store: events */
	PROTO_SOCK_SUB,  /* gateway, tests: events (subscribed to everything) */
	PROTO_SOCK_PUSH, /* store: jobs; enricher: results and heartbeats */
	PROTO_SOCK_PULL, /* enricher: jobs; store: results */
} proto_sock_kind;

/* Opens a socket of the kind and listens on url. On success *out is open; on failure
 * it is left closed and the error is logged. */
int proto_sock_listen(proto_sock_kind kind, const char *url, nng_socket *out);

/* Opens a socket of the kind and dials url without blocking (redials in background). */
int proto_sock_dial(proto_sock_kind kind, const char *url, nng_socket *out);

/* Encodes m and sends it on s (blocking up to the socket's send timeout). */
int proto_sock_send(nng_socket s, const proto_msg *m);

/* Receives one message and decodes it. A malformed message is logged and dropped and
 * the call returns TR_ERR_PROTO (the caller simply receives again). TR_ERR_TIMEOUT when
 * the socket's receive timeout passes. */
int proto_sock_recv(nng_socket s, proto_msg *out);

/* Converts an nng error into the shared enum. */
int proto_nng_err(int nng_rv);

#endif
