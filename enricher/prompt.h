/* prompt: the text the LLM backends send, with its recorded version. The system prompt
 * states the task, the taxonomy and the severity definitions; the incident travels in
 * the user message as delimited, escaped, untrusted data, never as instructions. */
#ifndef ENR_PROMPT_H
#define ENR_PROMPT_H

#include <stddef.h>

#include "triage.h"

/* Recorded with every LLM triage; change it whenever the prompt text changes. */
#define PROMPT_VERSION "triage-v2" /* v2: similar past incidents as examples */

/* Upper bound of a user message: every incident field at its proto bound, escaped. */
#define PROMPT_USER_MAX (512 * 1024)

/* The system prompt: a static string, valid for the life of the process. */
const char *prompt_system(void);

/* The user message for one incident: the fields inside <incident> ... </incident>, then
 * each similar past incident inside <similar_incident id=".." score=".."> ...
 * </similar_incident> (title, severity, category, confirmed_by_responder,
 * resolution_note), each field in its own element, with '&', '<' and '>' in the data written as &amp; &lt; &gt; so no
 * data can close or open a delimiter. NULL fields are left out. Returns a malloc'd
 * string the caller frees, or NULL when out of memory or over PROMPT_USER_MAX. */
char *prompt_user_message(const triage_incident *in);

#endif
