/* rules_match: finds the rules engine's weighted terms (rules_tables.h) in incident text
 * and adds up what they say, in one pass over each field. Pure; all state is the caller's. */
#ifndef ENR_RULES_MATCH_H
#define ENR_RULES_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_tables.h"

#define RULES_SKIP_MAX 8    /* sentences addressed to a model, per field */
#define RULES_MAX_TERMS 768 /* terms in all tables together */

/* One piece of incident text and how much a term found in it weighs. Borrowed text. */
typedef struct {
	const char *s;
	size_t len;
	int cat_weight; /* multiplier for category terms; 0: not read for categories */
	int sev_weight; /* multiplier for severity terms and modifiers; 0: not read for them */
	size_t nskip;   /* byte ranges [from, to) that are never evidence */
	size_t skip[RULES_SKIP_MAX][2];
} rules_field;

/* Terms bucketed by their first byte, so that a pass over the text tries, at each place
 * a word starts, only the terms that can match there. Built per call on the stack
 * (about 5 KB); it refers to the const tables. */
typedef struct {
	uint16_t first[257];             /* bucket b: order[first[b] .. first[b + 1]) */
	uint16_t order[RULES_MAX_TERMS]; /* term numbers */
	uint8_t set[RULES_MAX_TERMS];    /* which table (see rules_match.c) */
	uint16_t k[RULES_MAX_TERMS];     /* index in that table */
	size_t n;
} rules_index;

/* What the terms found add up to. Each term counts at most once per field. */
typedef struct {
	int category[RULES_NCATEGORIES]; /* sum of term weight x field cat_weight */
	int severity[4];                 /* the same for severity terms, x sev_weight */
	int prod;                        /* "production" mentions minus negated ones */
	bool nonprod, resolved, imminent;
} rules_evidence;

/* Builds the index of every category, severity and modifier term (all = true) or of the
 * injection markers only. Returns false if the tables hold more than RULES_MAX_TERMS
 * terms (the rest are then left out). */
bool rules_index_build(rules_index *ix, bool all);

/* Marks in f the sentences holding an injection marker (ix built with all = false);
 * past RULES_SKIP_MAX of them, the rest of the field is skipped. */
void rules_skip_injections(rules_field *f, const rules_index *ix);

/* True if any indexed term occurs in f outside its skipped ranges. */
bool rules_has_any(const rules_index *ix, const rules_field *f);

/* Adds what f says to ev (ix built with all = true). Severity words and modifiers
 * preceded by a negation ("not resolved", "no user impact" is its own term) do not count. */
void rules_collect(const rules_index *ix, const rules_field *f, rules_evidence *ev);

#endif
