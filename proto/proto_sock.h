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

/* Options every socket gets: NNG_OPT_RECVMAXSZ = PROTO_MAX_MSG plus 64 bytes for
 * protocol headers (a larger message closes the pipe and nng redials; a body over
 * PROTO_MAX_MSG that fits is dropped by the decoder); reconnect 50 ms doubling to 2 s. REQ: resends off
 * (NNG_OPT_REQ_RESENDTIME infinite), so set NNG_OPT_RECVTIMEO (or an aio timeout).
 * SUB: subscribed to everything. PUSH: send buffer 1; PULL: receive buffer 1, so few
 * messages sit in buffers where a crash would lose them. PUSH sends time out after
 * 1 s (no puller ready: proto_sock_send returns TR_ERR_TIMEOUT). Other timeouts are
 * left to the caller (nng's default: wait forever); set NNG_OPT_SENDTIMEO or
 * NNG_OPT_RECVTIMEO on the socket to change them. */

/* Opens a socket of the kind and listens on url. On success *out is open; on failure
 * it is left closed and the error is logged. The listener is guarded (proto_guard.h):
 * if a stranger's connection stops it accepting (nng 1.5.2), it is reopened on the
 * same url within about a second; its peers redial. Call proto_guard_stop() before
 * nng_fini() in a process that listens. */
int proto_sock_listen(proto_sock_kind kind, const char *url, nng_socket *out);

/* Opens a socket of the kind and dials url without blocking (redials in background;
 * the dialer is guarded, proto_guard.h: one that stops redialing is started again).
 * url may be a comma-separated list (one per store, say): one socket, one dialer each;
 * REQ then spreads requests over the live ones (gw_store.c has it re-send a request
 * whose connection dropped to another when that is safe), PUB/SUB and PUSH/PULL take from
 * and give to every one. An empty or over-long element is refused (TR_ERR_INVALID). */
int proto_sock_dial(proto_sock_kind kind, const char *url, nng_socket *out);

#define PROTO_URL_MAX 512 /* one address of a list */

/* How many addresses a comma-separated list holds (0 for NULL); the i-th of them,
 * without surrounding spaces, into out (TR_ERR_INVALID if empty, absent or too long). */
size_t proto_url_count(const char *urls);
int proto_url_at(const char *urls, size_t i, char *out, size_t outlen);

/* The same, with cb called (on an nng thread) for NNG_PIPE_EV_ADD_POST and
 * NNG_PIPE_EV_REM_POST; registered before the dial starts, so no connection is missed. */
int proto_sock_dial_notify(proto_sock_kind kind, const char *url, nng_pipe_cb cb, void *arg,
			   nng_socket *out);

/* Closes a socket opened here: forgets it in the guard first (proto_guard_forget), so
 * no listener or dialer is being reopened on it as it closes. */
void proto_sock_close(nng_socket s);

/* Encodes m and sends it on s (blocking up to the socket's send timeout). */
int proto_sock_send(nng_socket s, const proto_msg *m);

/* Receives one message and decodes it. A malformed message is logged and dropped and
 * the call returns TR_ERR_PROTO (the caller simply receives again). TR_ERR_TIMEOUT when
 * the socket's receive timeout passes. */
int proto_sock_recv(nng_socket s, proto_msg *out);

/* Converts an nng error into the shared enum and logs nng's message once (at debug
 * level for NNG_ETIMEDOUT/NNG_EAGAIN, which are routine, warn otherwise). Mapping:
 * ETIMEDOUT, EAGAIN -> TR_ERR_TIMEOUT; ECONNREFUSED, ECLOSED, ESTATE, ECANCELED ->
 * TR_ERR_UNAVAILABLE; ENOMEM -> TR_ERR_NOMEM; EMSGSIZE -> TR_ERR_TOO_LARGE; EINVAL,
 * EADDRINVAL, ENOTSUP -> TR_ERR_INVALID; anything else -> TR_ERR_IO. 0 -> TR_OK. */
int proto_nng_err(int nng_rv);

/* For aio/context users. Encodes m into a new nng message (*out). On success the
 * caller owns *out (nng_msg_free it, or hand it to a send that succeeds); on failure
 * *out is untouched. Returns TR_OK, TR_ERR_INVALID (see proto_encode) or TR_ERR_NOMEM. */
int proto_msg_to_nng(const proto_msg *m, nng_msg **out);

/* A new nng message (*out) holding a copy of len encoded bytes. The gateway's requests
 * (batches too), the store's events and the enrichers' ready messages are built here:
 * nng 1.5.2 can leak a message whose pipe closes mid-send, and tests/lsan.supp names
 * this one frame for it (replies and results build their own and stay checked).
 * Returns TR_OK or TR_ERR_NOMEM; on failure *out is untouched. */
int proto_bytes_to_nng(const void *buf, size_t len, nng_msg **out);

/* Decodes the body of msg into *out (see proto_decode). msg is not freed or changed:
 * the caller still owns it. Returns TR_OK or TR_ERR_PROTO with a reason in err. */
int proto_msg_from_nng(nng_msg *msg, proto_msg *out, char *err, size_t errlen);

#endif
