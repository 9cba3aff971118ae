/* tr_err: the one error enum shared by every service (0 is success).
 * Library errors (libpq, libcurl, nng, libmicrohttpd) are converted into it at the
 * module edge, where the library's own message is logged once. */
#ifndef TR_ERR_H
#define TR_ERR_H

typedef enum {
	TR_OK = 0,
	TR_ERR_INVALID,     /* bad input: a field, a value, a message */
	TR_ERR_NOMEM,
	TR_ERR_TOO_LARGE,   /* over a documented bound */
	TR_ERR_NOT_FOUND,
	TR_ERR_CONFLICT,    /* the request does not fit the current state */
	TR_ERR_AUTH,
	TR_ERR_TIMEOUT,
	TR_ERR_UNAVAILABLE, /* a peer (store, database, LLM) cannot be reached or is busy */
	TR_ERR_DB,          /* the database refused or failed a statement (a bug: HTTP 500) */
	TR_ERR_PROTO,       /* a malformed, unknown or wrong-version message */
	TR_ERR_IO,
	TR_ERR_INTERNAL,
	TR_ERR__COUNT
} tr_err;

/* A static, lower-case description; never NULL (unknown codes give "unknown error"). */
const char *tr_strerror(int err);

/* A stable machine name ("invalid", "not_found", ...) used in JSON error bodies. */
const char *tr_errname(int err);

/* The one mapping to HTTP: the status a request failing with err is answered with, and
 * the machine name its JSON body carries (one of docs/API.md's names). Unknown codes
 * give 500 "internal". TR_OK gives 200 "ok" (routes choose their own success status). */
int tr_err_http_status(int err);
const char *tr_err_http_name(int err);

#endif
