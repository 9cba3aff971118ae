/* tr_config: table-driven parsing of TRIAGE_* environment variables. */
#include "tr_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tr_err.h"

static const char *tr_cfg_type_name(tr_cfg_type t)
{
	switch (t) {
	case TR_CFG_STR: return "string";
	case TR_CFG_INT: return "integer";
	case TR_CFG_BOOL: return "boolean";
	case TR_CFG_ENUM: return "choice";
	}
	return "?";
}

static bool tr_cfg_choice_ok(const char *choices, const char *value)
{
	size_t vlen = strlen(value);
	const char *p = choices;
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static int tr_cfg_parse_one(const tr_cfg_item *it, const char *text, void *cfg, char *err,
			    size_t errlen)
{
	char *slot = (char *)cfg + it->offset;

	switch (it->type) {
	case TR_CFG_STR:
	case TR_CFG_ENUM: {
		if (it->type == TR_CFG_ENUM && !tr_cfg_choice_ok(it->choices, text)) {
			snprintf(err, errlen, "%s: '%s' is not one of %s", it->env, text, it->choices);
			return TR_ERR_INVALID;
		}
		char *copy = strdup(text);
		if (!copy) {
			snprintf(err, errlen, "%s: out of memory", it->env);
			return TR_ERR_NOMEM;
		}
		*(char **)slot = copy;
		return TR_OK;
	}
	case TR_CFG_INT: {
		char *end = NULL;
		errno = 0;
		long v = strtol(text, &end, 10);
		if (errno || end == text || *end != '\0') {
			snprintf(err, errlen, "%s: '%s' is not an integer", it->env, text);
			return TR_ERR_INVALID;
		}
		if (v < it->min || v > it->max) {
			snprintf(err, errlen, "%s: %ld is outside %ld..%ld", it->env, v, it->min,
				 it->max);
			return TR_ERR_INVALID;
		}
		*(long *)slot = v;
		return TR_OK;
	}
	case TR_CFG_BOOL: {
		static const char *const yes[] = {"1", "true", "yes", "on"};
		static const char *const no[] = {"0", "false", "no", "off"};
		for (int i = 0; i < 4; i++) {
			if (strcasecmp(text, yes[i]) == 0) {
				*(bool *)slot = true;
				return TR_OK;
			}
			if (strcasecmp(text, no[i]) == 0) {
				*(bool *)slot = false;
				return TR_OK;
			}
		}
		snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", it->env, text);
		return TR_ERR_INVALID;
	}
	}
	snprintf(err, errlen, "%s: unknown type", it->env);
	return TR_ERR_INTERNAL;
}

/* Zeroes every item's slot (a string slot becomes NULL) without freeing anything. */
static void tr_cfg_zero(const tr_cfg_item *items, size_t n, void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		char *slot = (char *)cfg + items[i].offset;
		switch (items[i].type) {
		case TR_CFG_STR:
		case TR_CFG_ENUM: *(char **)slot = NULL; break;
		case TR_CFG_INT: *(long *)slot = 0; break;
		case TR_CFG_BOOL: *(bool *)slot = false; break;
		}
	}
}

int tr_config_load(const tr_cfg_item *items, size_t n, void *cfg, char *err, size_t errlen)
{
	/* The caller's struct may hold garbage: start from zero so that a failure frees
	 * only what this call allocated. */
	tr_cfg_zero(items, n, cfg);
	for (size_t i = 0; i < n; i++) {
		const char *text = getenv(items[i].env);
		if (!text)
			text = items[i].defval ? items[i].defval : "";
		int rc = tr_cfg_parse_one(&items[i], text, cfg, err, errlen);
		if (rc != TR_OK) {
			tr_config_free(items, n, cfg);
			tr_cfg_zero(items, n, cfg);
			return rc;
		}
	}
	return TR_OK;
}

void tr_config_free(const tr_cfg_item *items, size_t n, void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].type == TR_CFG_STR || items[i].type == TR_CFG_ENUM) {
			char **slot = (char **)((char *)cfg + items[i].offset);
			free(*slot);
			*slot = NULL;
		}
	}
}

void tr_config_help(FILE *out, const char *prog, const char *summary, const tr_cfg_item *items,
		    size_t n)
{
	fprintf(out, "usage: %s [--help]\n%s\n\nConfiguration (environment variables):\n", prog,
		summary);
	for (size_t i = 0; i < n; i++) {
		const tr_cfg_item *it = &items[i];
		fprintf(out, "  %-32s %-8s default: %s\n      %s", it->env, tr_cfg_type_name(it->type),
			(it->defval && *it->defval) ? it->defval : "(empty)", it->help);
		if (it->type == TR_CFG_INT)
			fprintf(out, " (%ld..%ld)", it->min, it->max);
		if (it->type == TR_CFG_ENUM)
			fprintf(out, " (%s)", it->choices);
		fputc('\n', out);
	}
}

bool tr_config_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int tr_config_default_id(char **id, char sep)
{
	char host[128] = "", name[160];
	if (**id)
		return TR_OK;
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(name, sizeof name, "%s%c%ld", host, sep, (long)getpid());
	char *copy = strdup(name);
	if (!copy)
		return TR_ERR_NOMEM;
	free(*id);
	*id = copy;
	return TR_OK;
}
