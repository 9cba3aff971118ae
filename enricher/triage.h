/* triage: the record every backend (ollama, openai, rules) produces, its validator, its
 * parser from a model's JSON text, and the JSON schema sent to models that accept one.
 * Nothing a model says is trusted: every field is type-checked and bounded here. */
#ifndef ENR_TRIAGE_H
#define ENR_TRIAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn_model.h"
#include "proto.h"
#include "proto_contract.h"

/* The incident as the backends see it: borrowed pointers into a decoded proto_job (or
 * the one-shot mode's parsed JSON); valid as long as that lives. NULL fields are absent. */
typedef struct {
	int64_t id;
	const char *title;
	const char *description;
	const char *source;
	const char *service;
	const proto_kv *labels;
	size_t nlabels;
	int64_t learned_version;         /* the built-in model version the job names (0: none) */
	const learn_neighbour *similar;  /* past incidents close to this one (may be NULL) */
	size_t nsimilar;
	const proto_similar *examples; /* the job's similar resolved incidents (data), best first */
	size_t nexamples;
} triage_incident;

/* A triage, owning fixed-size buffers so it can be filled from any parser without
 * allocation. Strings are NUL-terminated UTF-8. */
typedef struct {
	char summary[PROTO_SUMMARY_MAX + 1];
	char severity[16];  /* critical|high|medium|low */
	char category[16];  /* compute|storage|database|network|application|deployment|security|dependency|other */
	char actions[PROTO_ACTIONS_MAX][PROTO_ACTION_MAX + 1];
	size_t nactions;
	double confidence;  /* 0..1 */
	/* provenance */
	char backend[16];   /* ollama|openai|rules */
	char model[PROTO_SHORT_MAX + 1];
	char prompt_version[32];
	int64_t latency_ms;
	int64_t prompt_tokens;     /* -1: not reported */
	int64_t completion_tokens; /* -1: not reported */
	/* ids of the incident's similar incidents this triage used (only ids it was given) */
	int64_t similar_used[PROTO_SIMILAR_MAX];
	size_t nsimilar_used;
} triage_result;

/* The vocabularies are proto_contract's proto_severities and proto_categories. */

bool triage_is_severity(const char *s);
bool triage_is_category(const char *s);

/* Checks a filled record: enums, non-empty summary, lengths, 0 <= confidence <= 1,
 * at most PROTO_ACTIONS_MAX non-empty actions, valid UTF-8 with no control characters.
 * Returns true if valid; otherwise false with a one-line reason in why. */
bool triage_validate(const triage_result *t, char *why, size_t whylen);

/* Parses a model's answer (len bytes of JSON text, not necessarily NUL-terminated) into
 * the triage fields of *out (summary, severity, category, actions, confidence); the
 * provenance fields are left as they are. The answer must be one JSON object with
 *   summary            string, 1..PROTO_SUMMARY_MAX bytes after trimming
 *   severity           string, exactly one of proto_severities
 *   category           string, exactly one of proto_categories
 *   suggested_actions  array of 0..PROTO_ACTIONS_MAX strings, each 1..PROTO_ACTION_MAX bytes
 *   confidence         number in [0, 1]
 * Decisions: nothing is truncated — an over-long field makes the whole answer invalid
 * (a cut summary would be presented as the model's words); line breaks and tabs inside
 * strings become spaces and surrounding whitespace is trimmed; any other control
 * character is rejected; keys other than these five are ignored (the schema sent to
 * the model forbids them, but they are never stored, so they cannot change anything).
 * Returns true on success; otherwise false, *out's triage fields unspecified, and a
 * one-line reason in why. */
bool triage_parse_json(const char *text, size_t len, triage_result *out, char *why,
		       size_t whylen);

/* Reads the optional "similar_used" array of a model's answer (len bytes of JSON text)
 * and keeps, in out->similar_used, the ids that are among in's similar incidents (each
 * once, at most PROTO_SIMILAR_MAX; with in NULL any positive id, to be filtered later
 * with triage_filter_similar_used); anything else in it is ignored (an optional
 * citation never invalidates a triage). */
void triage_parse_similar_used(const char *text, size_t len, const triage_incident *in,
			       triage_result *out);

/* Drops from out->similar_used every id that is not one of in's similar incidents. */
void triage_filter_similar_used(const triage_incident *in, triage_result *out);

/* The lengths the schema and the prompt ask for, in characters. The record's bounds are
 * in bytes (PROTO_SUMMARY_MAX, PROTO_ACTION_MAX); asking for half as many characters
 * keeps any Latin, Greek or Cyrillic answer inside them (a long answer in a 3-byte
 * script can still exceed them, and is then rejected like any over-long answer). */
#define TRIAGE_SUMMARY_CHARS (PROTO_SUMMARY_MAX / 2)
#define TRIAGE_ACTION_CHARS (PROTO_ACTION_MAX / 2)

/* A new reference to the JSON schema of the answer above (the caller json_decref()s it).
 * NULL only when out of memory. */
json_t *triage_schema(void);

/* The triage and its provenance as a JSON object (a new reference; NULL when out of
 * memory): summary, severity, category, suggested_actions, confidence, backend, model,
 * prompt_version, latency_ms, tokens {prompt, completion} (null when not reported). */
json_t *triage_to_json(const triage_result *t);

/* Copies at most dstlen-1 bytes of src (srclen bytes) into dst as clean, valid UTF-8:
 * invalid sequences become '?', control characters become spaces, the cut falls on a
 * character boundary. Used for failure details and log text that came from outside. */
void triage_clean_text(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
