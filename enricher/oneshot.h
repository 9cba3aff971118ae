/* oneshot: `triage-enricher --once`: one incident as JSON on stdin, its triage as JSON on
 * stdout, with the configured backend and the same retry and fallback policy. */
#ifndef ENR_ONESHOT_H
#define ENR_ONESHOT_H

#include <stdio.h>

#include "enr_backend.h"

/* Largest input accepted on stdin. */
#define ONESHOT_INPUT_MAX (256 * 1024)

/* Exit codes. */
#define ONESHOT_OK 0
#define ONESHOT_FAILED 1  /* the backend gave no triage: {"error": reason, "detail": ...} */
#define ONESHOT_BAD_INPUT 2 /* stdin is not a valid incident: {"error": "invalid_input", ...} */

/* Reads an incident {"title", "description", "source", "service", "labels"} from in
 * (title required; labels an object of strings; other keys ignored; bounds as for
 * POST /incidents), triages it with b (h: a client, NULL for rules) and writes one JSON
 * line to out: the triage (triage_to_json, plus "fallback": {"reason", "detail"} when
 * rules replaced a failed LLM call), or the error. Returns an exit code above. */
int enr_oneshot(const enr_backend *b, llm_http *h, FILE *in, FILE *out);

/* Parses and checks the incident JSON text. On success *root owns the parsed document
 * and *inc borrows from it (json_decref(*root) when done). On failure writes why. */
bool enr_oneshot_parse(const char *text, size_t len, json_t **root, triage_incident *inc,
		       proto_kv *labels, char *why, size_t whylen);

#endif
