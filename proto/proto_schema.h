/* proto_schema: the field tables that describe every message body (internal to proto/).
 * The encoder, the decoder and the validator all read these tables, so a bound is
 * written once and the encoder can never produce what the decoder rejects. */
#ifndef PROTO_SCHEMA_H
#define PROTO_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Hard limits on the shape of any message, checked on the raw bytes before msgpack-c
 * allocates anything: nesting depth and the total number of objects (a legitimate
 * message has well under 200; unknown keys from a newer peer fit easily). */
#define PROTO_MAX_DEPTH 8
#define PROTO_MAX_OBJECTS 4096

typedef enum {
	PF_STR,  /* char *; min/max: length in bytes; def 1: absent -> "" instead of NULL */
	PF_I64,  /* int64_t within [min, max]; absent -> def */
	PF_I32,  /* int32_t within [min, max]; absent -> def */
	PF_INT,  /* int within [min, max]; absent -> def */
	PF_BOOL, /* bool; absent -> false */
	PF_DBL,  /* double within [min, max] (NaN rejected); absent -> 0 */
	PF_KV,   /* proto_kv * + size_t count (msgpack map): max entries, key_max, val_max */
	PF_STRV, /* char ** + size_t count (msgpack array): max entries, val_max each */
	PF_RECS, /* array of records (msgpack array of maps) + size_t count: max entries,
		  * each elem_size bytes described by sub[nsub] (offsets within the record) */
	PF_I64V, /* int64_t * + size_t count (msgpack array): max entries, each 1..INT64_MAX */
} proto_field_kind;

typedef struct proto_field {
	const char *name;      /* the body key */
	proto_field_kind kind;
	bool required;
	size_t off;            /* offsetof(proto_msg, u.<type>.<field>) */
	size_t count_off;      /* PF_KV / PF_STRV: offset of the size_t count */
	int64_t min, max;      /* see the kinds above */
	size_t key_max;        /* PF_KV: key length bound (keys are 1..key_max bytes) */
	size_t val_max;        /* PF_KV value / PF_STRV item length bound */
	int64_t def;           /* default when absent */
	const struct proto_field *sub; /* PF_RECS: the record's fields */
	size_t nsub;
	size_t elem_size;
} proto_field;

typedef struct {
	const char *name;
	const proto_field *fields;
	size_t nfields;
	/* Cross-field rules (RESULT: a triage needs its fields); NULL if none. */
	int (*check)(const proto_msg *m, char *err, size_t errlen);
} proto_schema;

/* The schema of a message type; NULL for an unknown type. */
const proto_schema *proto_schema_of(int type);

/* Checks every field of m against its schema (required present, bounds, key
 * uniqueness, cross-field rules). Returns TR_OK or TR_ERR_INVALID with a reason. */
int proto_validate(const proto_msg *m, char *err, size_t errlen);

/* Checks one record (or body) of n fields as proto_validate does; tname names it in err. */
int proto_validate_fields(const void *m, const proto_field *fields, size_t n,
			  const char *tname, char *err, size_t errlen);

/* The fields of a submit inside a SUBMIT_BATCH (records of proto_submit). */
const proto_field *proto_batch_submit_fields(size_t *n);

/* Typed access to a field of m (a message, or a record of a PF_RECS field) by its
 * table entry. */
#define PROTO_FIELD_PTR(m, f, T) ((T *)((char *)(m) + (f)->off))
#define PROTO_FIELD_CPTR(m, f, T) ((T const *)((const char *)(m) + (f)->off))
#define PROTO_COUNT_PTR(m, f) ((size_t *)((char *)(m) + (f)->count_off))
#define PROTO_COUNT_CPTR(m, f) ((const size_t *)((const char *)(m) + (f)->count_off))

#endif
