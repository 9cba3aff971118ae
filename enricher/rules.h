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

#endif
