/* rules_tables: the weighted terms and canned actions behind the rules engine (rules.c).
 * Data only: all tables are const, so the engine stays pure and thread-safe. */
#ifndef ENR_RULES_TABLES_H
#define ENR_RULES_TABLES_H

#include <stddef.h>

#include "proto_contract.h"

/* A term is lowercase. It matches case-insensitively at word boundaries (a camelCase
 * hump counts: "KubePodCrashLooping" holds "pod" and "crash*"). A trailing '*' makes it
 * a prefix ("deploy*" matches "deployment"); a ' ' or '-' inside it matches any run of
 * spaces, '-', '_' or '/', or a camelCase hump ("error rate" matches "HighErrorRate"). */
typedef struct {
	const char *term;
	int weight;
} rules_term;

typedef struct {
	const rules_term *terms;
	size_t nterms;
} rules_termset;

#define RULES_CATEGORY_ACTIONS 4

typedef struct {
	const char *name; /* one of proto_categories */
	rules_termset terms;
	const char *actions[RULES_CATEGORY_ACTIONS]; /* most useful first */
} rules_category;

#define RULES_NCATEGORIES ((int)PROTO_NCATEGORIES)
extern const rules_category rules_categories[RULES_NCATEGORIES]; /* "other" last */

/* Severity evidence, indexed like proto_severities: 0 critical .. 3 low. */
extern const rules_termset rules_severity_terms[PROTO_NSEVERITIES];

/* Modifiers (see rules.c): non-production wording caps severity at medium unless the
 * incident names production; resolved wording makes it low; an outage that is only
 * imminent is high, not critical. */
extern const rules_termset rules_nonprod_terms;
extern const rules_termset rules_prod_terms;
extern const rules_termset rules_prod_negations; /* phrases in which "production" is negated */
extern const rules_termset rules_resolved_terms;
extern const rules_termset rules_imminent_terms;
/* Sentences that address a model rather than describe an incident: never summarised. */
extern const rules_termset rules_injection_terms;

/* Added before the category actions for critical and high incidents. */
extern const char *const rules_escalation_action;

#endif
