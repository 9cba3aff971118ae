/* tr_config: each service's configuration is one table of items (environment
 * variable, type, default, bounds, description), parsed once at start into the
 * service's own struct, validated with a clear message, and printed by --help.
 * All variables share the prefix TRIAGE_. */
#ifndef TR_CONFIG_H
#define TR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
	TR_CFG_STR,  /* char *, strdup'd; "" is kept as an empty string */
	TR_CFG_INT,  /* long, within [min, max] */
	TR_CFG_BOOL, /* bool: 1/0, true/false, yes/no, on/off */
	TR_CFG_ENUM, /* char *, one of the '|'-separated choices */
} tr_cfg_type;

typedef struct {
	const char *env;     /* "TRIAGE_HTTP_PORT" */
	tr_cfg_type type;
	const char *defval;  /* as text, parsed like the environment; NULL means "" */
	size_t offset;       /* offsetof(service_config, field) */
	long min, max;       /* TR_CFG_INT bounds */
	const char *choices; /* TR_CFG_ENUM: "ollama|openai|rules" */
	const char *help;    /* one line */
} tr_cfg_item;

/* Reads every item from the environment (or its default) into cfg.
 * On failure returns a tr_err, writes a message naming the variable into err, and
 * leaves no string allocated (cfg is zeroed). On success free with tr_config_free. */
int tr_config_load(const tr_cfg_item *items, size_t n, void *cfg, char *err, size_t errlen);

/* When *id (a string tr_config_load allocated) is empty, replaces it with
 * "<hostname><sep><pid>", the default name of a process in logs and on the wire.
 * TR_OK, or TR_ERR_NOMEM (and *id is left as it was). */
int tr_config_default_id(char **id, char sep);

/* Frees the strings tr_config_load allocated and zeroes them. */
void tr_config_free(const tr_cfg_item *items, size_t n, void *cfg);

/* Prints "usage" and the table: variable, type, default, description. */
void tr_config_help(FILE *out, const char *prog, const char *summary, const tr_cfg_item *items,
		    size_t n);

/* True if argv holds -h or --help. */
bool tr_config_wants_help(int argc, char **argv);

#endif
