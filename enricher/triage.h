/* triage: the record every backend (ollama, openai, rules) produces, and its validator.
 * Nothing a model says is trusted: triage_validate() checks enums, lengths and ranges
 * before a record may leave the enricher. */
#ifndef ENR_TRIAGE_H
#define ENR_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

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
} triage_result;

extern const char *const triage_severities[4]; /* most to least severe */
extern const char *const triage_categories[9];

bool triage_is_severity(const char *s);
bool triage_is_category(const char *s);

/* Checks a filled record: enums, non-empty summary, lengths, 0 <= confidence <= 1,
 * at most PROTO_ACTIONS_MAX non-empty actions, valid UTF-8 with no control characters.
 * Returns true if valid; otherwise false with a one-line reason in why. */
bool triage_validate(const triage_result *t, char *why, size_t whylen);

#endif
