/* proto_encode: packs a validated message as msgpack [PROTO_VERSION, type, {body}] with
 * msgpack-c's sbuffer and packer. Nothing invalid is ever packed (see proto_validate). */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_schema.h"
#include "tr_err.h"
#include "tr_log.h"

static int pack_str(msgpack_packer *pk, const char *s)
{
	size_t len = strlen(s);
	if (msgpack_pack_str(pk, len) != 0)
		return -1;
	return msgpack_pack_str_body(pk, s, len);
}

/* Absent optional strings and empty lists are left out of the body. */
static bool field_present(const void *m, const proto_field *f)
{
	switch (f->kind) {
	case PF_STR: return *PROTO_FIELD_CPTR(m, f, char *) != NULL;
	case PF_KV:
	case PF_STRV:
	case PF_RECS:
	case PF_I64V: return *PROTO_COUNT_CPTR(m, f) > 0;
	default: return true;
	}
}

static int pack_map(msgpack_packer *pk, const void *m, const proto_field *fields, size_t n);

static int pack_field(msgpack_packer *pk, const void *m, const proto_field *f)
{
	if (pack_str(pk, f->name) != 0)
		return -1;
	switch (f->kind) {
	case PF_STR: return pack_str(pk, *PROTO_FIELD_CPTR(m, f, char *));
	case PF_I64: return msgpack_pack_int64(pk, *PROTO_FIELD_CPTR(m, f, int64_t));
	case PF_I32: return msgpack_pack_int32(pk, *PROTO_FIELD_CPTR(m, f, int32_t));
	case PF_INT: return msgpack_pack_int(pk, *PROTO_FIELD_CPTR(m, f, int));
	case PF_BOOL:
		return *PROTO_FIELD_CPTR(m, f, bool) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case PF_DBL: return msgpack_pack_double(pk, *PROTO_FIELD_CPTR(m, f, double));
	case PF_KV: {
		const proto_kv *kv = *PROTO_FIELD_CPTR(m, f, proto_kv *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (msgpack_pack_map(pk, n) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (pack_str(pk, kv[i].key) != 0 || pack_str(pk, kv[i].value) != 0)
				return -1;
		}
		return 0;
	}
	case PF_STRV: {
		char *const *sv = *PROTO_FIELD_CPTR(m, f, char **);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (msgpack_pack_array(pk, n) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (pack_str(pk, sv[i]) != 0)
				return -1;
		}
		return 0;
	}
	case PF_I64V: {
		const int64_t *iv = *PROTO_FIELD_CPTR(m, f, int64_t *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (msgpack_pack_array(pk, n) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (msgpack_pack_int64(pk, iv[i]) != 0)
				return -1;
		}
		return 0;
	}
	case PF_RECS: {
		const char *rv = *PROTO_FIELD_CPTR(m, f, char *);
		size_t n = *PROTO_COUNT_CPTR(m, f);
		if (msgpack_pack_array(pk, n) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (pack_map(pk, rv + i * f->elem_size, f->sub, f->nsub) != 0)
				return -1;
		}
		return 0;
	}
	}
	return -1;
}

/* The present fields of m as one msgpack map. */
static int pack_map(msgpack_packer *pk, const void *m, const proto_field *fields, size_t n)
{
	size_t npresent = 0;
	for (size_t i = 0; i < n; i++)
		npresent += field_present(m, &fields[i]);
	if (msgpack_pack_map(pk, npresent) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (field_present(m, &fields[i]) && pack_field(pk, m, &fields[i]) != 0)
			return -1;
	}
	return 0;
}

/* Hands the packed message over (*out, *outlen), unless it is over PROTO_MAX_MSG. */
static int proto_take(msgpack_sbuffer *sb, const char *name, void **out, size_t *outlen)
{
	if (sb->size > PROTO_MAX_MSG) {
		tr_warn("proto: refusing to encode %s: %zu bytes is over %d", name, sb->size,
			PROTO_MAX_MSG);
		return TR_ERR_INVALID;
	}
	*outlen = sb->size;
	*out = msgpack_sbuffer_release(sb);
	return TR_OK;
}

int proto_encode(const proto_msg *m, void **out, size_t *outlen)
{
	char err[256];
	int rc = TR_ERR_INVALID;
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	if (!m || !out || !outlen)
		goto out;
	rc = proto_validate(m, err, sizeof(err));
	if (rc != TR_OK) {
		tr_warn("proto: refusing to encode %s: %s", proto_type_name(m->type), err);
		goto out;
	}
	const proto_schema *sc = proto_schema_of(m->type);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = TR_ERR_NOMEM; /* the packer's only failure is the sbuffer's realloc */
	if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_int(&pk, PROTO_VERSION) != 0 ||
	    msgpack_pack_int(&pk, (int)m->type) != 0 ||
	    pack_map(&pk, m, sc->fields, sc->nfields) != 0)
		goto out;
	rc = proto_take(&sb, sc->name, out, outlen);
out:
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int proto_submit_pack(const proto_submit *s, proto_packed *out)
{
	char err[256];
	size_t nfields;
	const proto_field *fields = proto_batch_submit_fields(&nfields);
	msgpack_sbuffer sb;
	int rc = proto_validate_fields(s, fields, nfields, "submit_batch.submits", err,
				       sizeof(err));
	if (rc != TR_OK) {
		tr_warn("proto: refusing to pack a submit: %s", err);
		return rc;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (pack_map(&pk, s, fields, nfields) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return TR_ERR_NOMEM;
	}
	out->len = sb.size;
	out->data = msgpack_sbuffer_release(&sb);
	return TR_OK;
}

int proto_batch_encode(const char *request_id, char *const *confirms, size_t nconfirms,
		       const proto_packed *submits, size_t n, void **out, size_t *outlen)
{
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += submits[i].len;
	size_t idlen = request_id ? strlen(request_id) : 0;
	if (n == 0 || n > PROTO_BATCH_MAX || (n > 1 && bytes > PROTO_BATCH_BYTES) || idlen == 0 ||
	    idlen > PROTO_SHORT_MAX || nconfirms > PROTO_CONFIRMS_MAX) {
		tr_warn("proto: refusing to encode a submit_batch of %zu submits, %zu bytes", n,
			bytes);
		return TR_ERR_INVALID;
	}
	for (size_t i = 0; i < nconfirms; i++) {
		if (!confirms[i] || strlen(confirms[i]) > PROTO_SHORT_MAX)
			return TR_ERR_INVALID;
	}
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc = TR_ERR_NOMEM;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_int(&pk, PROTO_VERSION) != 0 ||
	    msgpack_pack_int(&pk, PROTO_SUBMIT_BATCH) != 0 ||
	    msgpack_pack_map(&pk, nconfirms ? 3 : 2) != 0 || pack_str(&pk, "request_id") != 0 ||
	    pack_str(&pk, request_id) != 0 || pack_str(&pk, "submits") != 0 ||
	    msgpack_pack_array(&pk, n) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* each was checked and packed by proto_submit_pack */
		if (msgpack_sbuffer_write(&sb, submits[i].data, submits[i].len) != 0)
			goto out;
	}
	if (nconfirms && (pack_str(&pk, "confirms") != 0 || msgpack_pack_array(&pk, nconfirms) != 0))
		goto out;
	for (size_t i = 0; i < nconfirms; i++) {
		if (pack_str(&pk, confirms[i]) != 0)
			goto out;
	}
	rc = proto_take(&sb, "submit_batch", out, outlen);
out:
	msgpack_sbuffer_destroy(&sb);
	return rc;
}
