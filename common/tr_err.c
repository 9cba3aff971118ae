/* tr_err: names and descriptions for the shared error enum. */
#include "tr_err.h"

static const struct {
	const char *name;
	const char *text;
} tr_errors[TR_ERR__COUNT] = {
	[TR_OK] = {"ok", "success"},
	[TR_ERR_INVALID] = {"invalid", "invalid input"},
	[TR_ERR_NOMEM] = {"nomem", "out of memory"},
	[TR_ERR_TOO_LARGE] = {"too_large", "too large"},
	[TR_ERR_NOT_FOUND] = {"not_found", "not found"},
	[TR_ERR_CONFLICT] = {"conflict", "conflicts with the current state"},
	[TR_ERR_AUTH] = {"unauthorized", "missing or unknown API key"},
	[TR_ERR_TIMEOUT] = {"timeout", "timed out"},
	[TR_ERR_UNAVAILABLE] = {"unavailable", "service unavailable"},
	[TR_ERR_DB] = {"database", "database error"},
	[TR_ERR_PROTO] = {"protocol", "malformed or unknown message"},
	[TR_ERR_IO] = {"io", "input/output error"},
	[TR_ERR_INTERNAL] = {"internal", "internal error"},
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
