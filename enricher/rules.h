/* rules: the built-in, deterministic triage. Keywords, phrases and simple scoring over
 * title, description, source, service and labels give a severity, a category, a
 * summary and category-specific suggested actions, with no model at all. It is the
 * default backend when no LLM is configured or reachable, labelled backend "rules". */
#ifndef ENR_RULES_H
#define ENR_RULES_H

#include "triage.h"

#define RULES_VERSION "rules-1"

/* Triage one incident. Always succeeds for any input (NULL fields are empty); fills
 * *out completely (backend "rules", model "builtin", prompt_version RULES_VERSION,
 * token counts -1) with a record that passes triage_validate(). Pure and thread-safe. */
void rules_triage(const triage_incident *in, triage_result *out);

/* The words of a triage decided elsewhere (the built-in model): a summary from the
 * incident's own text and the category's suggested actions (an escalation step first
 * for critical and high; fewer for low), written into out->summary, actions, nactions.
 * severity is 0..3 (critical..low); an unknown category reads as "other". */
void rules_describe(const triage_incident *in, const char *category, int severity,
		    triage_result *out);

#endif
