/* tr_err: names, descriptions and the one HTTP mapping (status and docs/API.md error
 * name) of the shared error enum. */
#include "tr_err.h"

/* http/http_name: what a client sees when a request fails with this error. A database
 * that refused a statement is a bug on our side (500 internal), never an outage: 503
 * unavailable is only for "could not answer or commit in time" and "cannot reach it". */
static const struct {
	const char *name;
	const char *text;
	int http;
	const char *http_name;
} tr_errors[TR_ERR__COUNT] = {
	[TR_OK] = {"ok", "success", 200, "ok"},
	[TR_ERR_INVALID] = {"invalid", "invalid input", 400, "invalid"},
	[TR_ERR_NOMEM] = {"nomem", "out of memory", 500, "internal"},
	[TR_ERR_TOO_LARGE] = {"too_large", "too large", 413, "too_large"},
	[TR_ERR_NOT_FOUND] = {"not_found", "not found", 404, "not_found"},
	[TR_ERR_CONFLICT] = {"conflict", "conflicts with the current state", 409, "conflict"},
	[TR_ERR_AUTH] = {"unauthorized", "missing or unknown API key", 401, "unauthorized"},
	[TR_ERR_TIMEOUT] = {"timeout", "timed out", 503, "unavailable"},
	[TR_ERR_UNAVAILABLE] = {"unavailable", "service unavailable", 503, "unavailable"},
	[TR_ERR_DB] = {"database", "database error", 500, "internal"},
	[TR_ERR_PROTO] = {"protocol", "malformed or unknown message", 500, "internal"},
	[TR_ERR_IO] = {"io", "input/output error", 500, "internal"},
	[TR_ERR_INTERNAL] = {"internal", "internal error", 500, "internal"},
};

const char *tr_strerror(int err)
{
	if (err < 0 || err >= TR_ERR__COUNT)
		return "unknown error";
	return tr_errors[err].text;
}

const char *tr_errname(int err)
{
	if (err < 0 || err >= TR_ERR__COUNT)
		return "unknown";
	return tr_errors[err].name;
}

int tr_err_http_status(int err)
{
	if (err < 0 || err >= TR_ERR__COUNT)
		return 500;
	return tr_errors[err].http;
}

const char *tr_err_http_name(int err)
{
	if (err < 0 || err >= TR_ERR__COUNT)
		return "internal";
	return tr_errors[err].http_name;
}
