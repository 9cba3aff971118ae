/* proto_contract: the vocabularies every part of the pipeline shares, defined once here
 * (their bounds are proto.h's PROTO_*_MAX). The C validators use these lists; the SQL
 * CHECK constraints, web/constants.js, the fake LLM and the tests are checked against
 * them by tests/integration/test_contract.py (through `triage-contract`, which prints
 * this contract as JSON). */
#ifndef PROTO_CONTRACT_H
#define PROTO_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

/* X-macro lists: X(name) for each, SEP between two. */
#define PROTO_SEVERITIES(X, SEP) X("critical") SEP X("high") SEP X("medium") SEP X("low")
#define PROTO_CATEGORIES(X, SEP)                                                           \
	X("compute") SEP X("storage") SEP X("database") SEP X("network") SEP X("application") \
	SEP X("deployment") SEP X("security") SEP X("dependency") SEP X("other")
#define PROTO_STATUSES(X, SEP) X("submitted") SEP X("processing") SEP X("triaged") SEP X("failed")
#define PROTO_STATES(X, SEP) X("open") SEP X("acknowledged") SEP X("resolved")
/* A responder's verdict on a triage (incidents.triage_feedback, sql/011). */
#define PROTO_FEEDBACKS(X, SEP) X("right") SEP X("wrong")

#define PROTO_STR(s) s
#define PROTO_COMMA ,
/* "a|b|c": the list as one string literal, for messages. */
#define PROTO_JOIN(LIST) LIST(PROTO_STR, "|")
/* How many names a list has (an integer constant expression). */
#define PROTO_COUNT(LIST) \
	(sizeof((const char *const[]){LIST(PROTO_STR, PROTO_COMMA)}) / sizeof(const char *))

#define PROTO_NSEVERITIES PROTO_COUNT(PROTO_SEVERITIES)
#define PROTO_NCATEGORIES PROTO_COUNT(PROTO_CATEGORIES)
#define PROTO_NSTATUSES PROTO_COUNT(PROTO_STATUSES)
#define PROTO_NSTATES PROTO_COUNT(PROTO_STATES)

/* Listing incidents (GET /incidents): the search text and the page size. */
#define PROTO_Q_MAX_CHARS 200
#define PROTO_LIST_LIMIT_MAX 200
#define PROTO_LIST_LIMIT_DEFAULT 50

/* The lists in their order (severities most to least severe), each NULL-terminated. */
extern const char *const proto_severities[];
extern const char *const proto_categories[];
extern const char *const proto_statuses[];  /* triage status */
extern const char *const proto_states[];    /* the responders' state */
extern const char *const proto_feedbacks[]; /* triage feedback */

/* The entry of the NULL-terminated list equal to the len bytes at s, or NULL. */
const char *proto_enum_find(const char *const *list, const char *s, size_t len);

/* s (NUL-terminated, may be NULL) is one of the list's names. */
bool proto_is_severity(const char *s);
bool proto_is_category(const char *s);

#endif
