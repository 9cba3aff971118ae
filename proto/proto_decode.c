/* proto_decode: strict decoding of [PROTO_VERSION, type, {body}]. The raw bytes are
 * first walked by a bounded scanner (depth, object count, every length against the
 * bytes left), so msgpack-c never reserves memory for elements that are not there. */
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_schema.h"
#include "tr_err.h"

typedef struct {
	const uint8_t *p;
	size_t len;
	size_t pos;
	size_t objects; /* objects seen so far, at most PROTO_MAX_OBJECTS */
	const char *why;
} scan_state;

static bool scan_take(scan_state *s, size_t n)
{
	if (n > s->len - s->pos) {
		s->why = "truncated";
		return false;
	}
	s->pos += n;
	return true;
}

static bool scan_be(scan_state *s, size_t width, uint64_t *v)
{
	if (width > s->len - s->pos) {
		s->why = "truncated";
		return false;
	}
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v = (*v << 8) | s->p[s->pos + i];
	s->pos += width;
	return true;
}

/* Walks one object. Containers' element counts are checked against the bytes left
 * (every element takes at least one byte) before anything recurses. */
static bool scan_object(scan_state *s, int depth)
{
	if (depth > PROTO_MAX_DEPTH) {
		s->why = "nested too deeply";
		return false;
	}
	if (++s->objects > PROTO_MAX_OBJECTS) {
		s->why = "too many objects";
		return false;
	}
	if (s->pos >= s->len) {
		s->why = "truncated";
		return false;
	}
	uint8_t t = s->p[s->pos++];
	uint64_t n = 0;
	uint64_t per = 1; /* objects per element: 1 for arrays, 2 for maps */

	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return true;
	if ((t & 0xe0) == 0xa0)
		return scan_take(s, t & 0x1f);
	if ((t & 0xf0) == 0x80) {
		n = t & 0x0f;
		per = 2;
		goto container;
	}
	if ((t & 0xf0) == 0x90) {
		n = t & 0x0f;
		goto container;
	}
	switch (t) {
	case 0xc4: case 0xd9: /* bin8, str8 */
		return scan_be(s, 1, &n) && scan_take(s, n);
	case 0xc5: case 0xda: /* bin16, str16 */
		return scan_be(s, 2, &n) && scan_take(s, n);
	case 0xc6: case 0xdb: /* bin32, str32 */
		return scan_be(s, 4, &n) && scan_take(s, n);
	case 0xc7: return scan_be(s, 1, &n) && scan_take(s, n + 1); /* ext8: len, type, data */
	case 0xc8: return scan_be(s, 2, &n) && scan_take(s, n + 1);
	case 0xc9: return scan_be(s, 4, &n) && scan_take(s, n + 1);
	case 0xca: return scan_take(s, 4); /* float32 */
	case 0xcb: return scan_take(s, 8); /* float64 */
	case 0xcc: case 0xd0: return scan_take(s, 1);
	case 0xcd: case 0xd1: return scan_take(s, 2);
	case 0xce: case 0xd2: return scan_take(s, 4);
	case 0xcf: case 0xd3: return scan_take(s, 8);
	case 0xd4: return scan_take(s, 2); /* fixext1: type + 1 */
	case 0xd5: return scan_take(s, 3);
	case 0xd6: return scan_take(s, 5);
	case 0xd7: return scan_take(s, 9);
	case 0xd8: return scan_take(s, 17);
	case 0xdc: if (!scan_be(s, 2, &n)) return false; goto container;
	case 0xdd: if (!scan_be(s, 4, &n)) return false; goto container;
	case 0xde: if (!scan_be(s, 2, &n)) return false; per = 2; goto container;
	case 0xdf: if (!scan_be(s, 4, &n)) return false; per = 2; goto container;
	default: /* 0xc1 is never used */
		s->why = "invalid msgpack tag";
		return false;
	}
container:
	if (n * per > s->len - s->pos) {
		s->why = "container claims more elements than bytes left";
		return false;
	}
	if (n * per > PROTO_MAX_OBJECTS - s->objects) {
		s->why = "too many objects";
		return false;
	}
	for (uint64_t i = 0; i < n * per; i++) {
		if (!scan_object(s, depth + 1))
			return false;
	}
	return true;
}

typedef struct {
	char *err;
	size_t errlen;
	const char *tname;
} dec_ctx;

static int fail(dec_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(dec_ctx *c, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return TR_ERR_PROTO;
}

static bool str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

/* A msgpack str of min..max bytes without NUL, copied out; *out is malloc'd. */
static int dup_str(dec_ctx *c, const msgpack_object *o, const char *name, size_t min, size_t max,
		   char **out)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return fail(c, "%s.%s: not a string", c->tname, name);
	size_t n = o->via.str.size;
	if (n > max)
		return fail(c, "%s.%s: longer than %zu bytes", c->tname, name, max);
	if (n < min)
		return fail(c, "%s.%s: shorter than %zu bytes", c->tname, name, min);
	if (memchr(o->via.str.ptr, '\0', n))
		return fail(c, "%s.%s: contains a NUL byte", c->tname, name);
	char *s = malloc(n + 1);
	if (!s)
		return fail(c, "%s.%s: out of memory", c->tname, name);
	if (n)
		memcpy(s, o->via.str.ptr, n);
	s[n] = '\0';
	*out = s;
	return TR_OK;
}

static int get_int(dec_ctx *c, const msgpack_object *o, const proto_field *f, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return fail(c, "%s.%s: integer out of range", c->tname, f->name);
		*v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
	} else {
		return fail(c, "%s.%s: not an integer", c->tname, f->name);
	}
	if (*v < f->min || *v > f->max)
		return fail(c, "%s.%s: %lld outside %lld..%lld", c->tname, f->name, (long long)*v,
			    (long long)f->min, (long long)f->max);
	return TR_OK;
}

static int decode_kv(dec_ctx *c, const msgpack_object *o, const proto_field *f, void *m)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(c, "%s.%s: not a map", c->tname, f->name);
	size_t n = o->via.map.size;
	if (n > (size_t)f->max)
		return fail(c, "%s.%s: %zu entries (at most %lld)", c->tname, f->name, n,
			    (long long)f->max);
	if (n == 0)
		return TR_OK;
	proto_kv *kv = calloc(n, sizeof(*kv));
	if (!kv)
		return fail(c, "%s.%s: out of memory", c->tname, f->name);
	/* Stored at once (count grows as entries fill) so proto_msg_free can clean up. */
	*PROTO_FIELD_PTR(m, f, proto_kv *) = kv;
	size_t *count = PROTO_COUNT_PTR(m, f);
	for (size_t i = 0; i < n; i++) {
		const msgpack_object_kv *e = &o->via.map.ptr[i];
		for (size_t j = 0; j < i; j++) {
			const msgpack_object *k = &o->via.map.ptr[j].key;
			if (e->key.type == MSGPACK_OBJECT_STR && k->via.str.size == e->key.via.str.size &&
			    memcmp(k->via.str.ptr, e->key.via.str.ptr, k->via.str.size) == 0)
				return fail(c, "%s.%s: duplicate key", c->tname, f->name);
		}
		*count = i + 1;
		int rc = dup_str(c, &e->key, f->name, 1, f->key_max, &kv[i].key);
		if (rc == TR_OK)
			rc = dup_str(c, &e->val, f->name, 0, f->val_max, &kv[i].value);
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}

static int decode_strv(dec_ctx *c, const msgpack_object *o, const proto_field *f, void *m)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(c, "%s.%s: not an array", c->tname, f->name);
	size_t n = o->via.array.size;
	if (n > (size_t)f->max)
		return fail(c, "%s.%s: %zu entries (at most %lld)", c->tname, f->name, n,
			    (long long)f->max);
	if (n == 0)
		return TR_OK;
	char **sv = calloc(n, sizeof(*sv));
	if (!sv)
		return fail(c, "%s.%s: out of memory", c->tname, f->name);
	*PROTO_FIELD_PTR(m, f, char **) = sv;
	size_t *count = PROTO_COUNT_PTR(m, f);
	for (size_t i = 0; i < n; i++) {
		*count = i + 1;
		int rc = dup_str(c, &o->via.array.ptr[i], f->name, 0, f->val_max, &sv[i]);
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}

static int decode_map(dec_ctx *c, const proto_field *fields, size_t nfields,
		      const msgpack_object *body, void *m);

static int decode_i64v(dec_ctx *c, const msgpack_object *o, const proto_field *f, void *m)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(c, "%s.%s: not an array", c->tname, f->name);
	size_t n = o->via.array.size;
	if (n > (size_t)f->max)
		return fail(c, "%s.%s: %zu entries (at most %lld)", c->tname, f->name, n,
			    (long long)f->max);
	if (n == 0)
		return TR_OK;
	int64_t *iv = calloc(n, sizeof(*iv));
	if (!iv)
		return fail(c, "%s.%s: out of memory", c->tname, f->name);
	*PROTO_FIELD_PTR(m, f, int64_t *) = iv;
	*PROTO_COUNT_PTR(m, f) = n;
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 < 1 ||
		    e->via.u64 > (uint64_t)INT64_MAX)
			return fail(c, "%s.%s: entry %zu is not a positive id", c->tname, f->name,
				    i);
		iv[i] = (int64_t)e->via.u64;
	}
	return TR_OK;
}

static int decode_recs(dec_ctx *c, const msgpack_object *o, const proto_field *f, void *m)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(c, "%s.%s: not an array", c->tname, f->name);
	size_t n = o->via.array.size;
	if (n > (size_t)f->max)
		return fail(c, "%s.%s: %zu entries (at most %lld)", c->tname, f->name, n,
			    (long long)f->max);
	if (n == 0)
		return TR_OK;
	char *rv = calloc(n, f->elem_size);
	if (!rv)
		return fail(c, "%s.%s: out of memory", c->tname, f->name);
	/* stored at once, the count growing as records fill, so proto_msg_free cleans up */
	*PROTO_FIELD_PTR(m, f, char *) = rv;
	size_t *count = PROTO_COUNT_PTR(m, f);
	for (size_t i = 0; i < n; i++) {
		*count = i + 1;
		const msgpack_object *e = &o->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_MAP)
			return fail(c, "%s.%s: entry %zu is not a map", c->tname, f->name, i);
		char name[96];
		const char *outer = c->tname;
		snprintf(name, sizeof(name), "%s.%s[%zu]", outer, f->name, i);
		c->tname = name; /* errors name the record: "job.similar[2].title: ..." */
		int rc = decode_map(c, f->sub, f->nsub, e, rv + i * f->elem_size);
		c->tname = outer;
		if (rc != TR_OK)
			return rc;
	}
	return TR_OK;
}

static int decode_field(dec_ctx *c, const msgpack_object *o, const proto_field *f, void *m)
{
	int64_t v = 0;
	int rc;
	switch (f->kind) {
	case PF_STR:
		return dup_str(c, o, f->name, (size_t)f->min, (size_t)f->max,
			       PROTO_FIELD_PTR(m, f, char *));
	case PF_I64:
	case PF_I32:
	case PF_INT:
		if ((rc = get_int(c, o, f, &v)) != TR_OK)
			return rc;
		if (f->kind == PF_I64)
			*PROTO_FIELD_PTR(m, f, int64_t) = v;
		else if (f->kind == PF_I32)
			*PROTO_FIELD_PTR(m, f, int32_t) = (int32_t)v;
		else
			*PROTO_FIELD_PTR(m, f, int) = (int)v;
		return TR_OK;
	case PF_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return fail(c, "%s.%s: not a boolean", c->tname, f->name);
		*PROTO_FIELD_PTR(m, f, bool) = o->via.boolean;
		return TR_OK;
	case PF_DBL: {
		double d;
		if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
			d = o->via.f64;
		else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= 1)
			d = (double)o->via.u64;
		else
			return fail(c, "%s.%s: not a number in %lld..%lld", c->tname, f->name,
				    (long long)f->min, (long long)f->max);
		if (!(d >= (double)f->min && d <= (double)f->max))
			return fail(c, "%s.%s: outside %lld..%lld", c->tname, f->name,
				    (long long)f->min, (long long)f->max);
		*PROTO_FIELD_PTR(m, f, double) = d;
		return TR_OK;
	}
	case PF_KV: return decode_kv(c, o, f, m);
	case PF_STRV: return decode_strv(c, o, f, m);
	case PF_I64V: return decode_i64v(c, o, f, m);
	case PF_RECS: return decode_recs(c, o, f, m);
	}
	return fail(c, "%s.%s: unknown field kind", c->tname, f->name);
}

/* One map of fields (a body, or a record of a PF_RECS field) into m. */
static int decode_map(dec_ctx *c, const proto_field *fields, size_t nfields,
		      const msgpack_object *body, void *m)
{
	uint32_t seen = 0; /* one bit per field; tables have fewer than 32 rows */
	int rc;
	const char *name = c->tname;

	if (body->type != MSGPACK_OBJECT_MAP)
		return fail(c, "%s: body is not a map", name);
	for (uint32_t i = 0; i < body->via.map.size; i++) {
		const msgpack_object_kv *e = &body->via.map.ptr[i];
		if (e->key.type != MSGPACK_OBJECT_STR)
			return fail(c, "%s: body key is not a string", name);
		for (size_t j = 0; j < nfields; j++) {
			const proto_field *f = &fields[j];
			if (!str_is(&e->key, f->name))
				continue;
			if (seen & (1u << j))
				return fail(c, "%s.%s: duplicate key", name, f->name);
			seen |= 1u << j;
			if ((rc = decode_field(c, &e->val, f, m)) != TR_OK)
				return rc;
			break;
		}
		/* a key no field matched is ignored: a newer peer may add optional fields */
	}
	for (size_t j = 0; j < nfields; j++) {
		const proto_field *f = &fields[j];
		if (seen & (1u << j))
			continue;
		if (f->required)
			return fail(c, "%s.%s: required", name, f->name);
		if (f->kind == PF_I64)
			*PROTO_FIELD_PTR(m, f, int64_t) = f->def;
		else if (f->kind == PF_STR && f->def) {
			char *s = strdup("");
			if (!s)
				return fail(c, "%s.%s: out of memory", name, f->name);
			*PROTO_FIELD_PTR(m, f, char *) = s;
		}
	}
	return TR_OK;
}

static int decode_body(dec_ctx *c, const proto_schema *sc, const msgpack_object *body,
		       proto_msg *m)
{
	int rc = decode_map(c, sc->fields, sc->nfields, body, m);
	if (rc != TR_OK)
		return rc;
	char why[200];
	if (proto_validate(m, why, sizeof(why)) != TR_OK)
		return fail(c, "%s", why);
	return TR_OK;
}

int proto_decode(const void *data, size_t len, proto_msg *out, char *err, size_t errlen)
{
	dec_ctx c = {.err = err, .errlen = errlen, .tname = "message"};
	msgpack_unpacked up;
	int rc = TR_ERR_PROTO;

	msgpack_unpacked_init(&up);
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return fail(&c, "no output message");
	memset(out, 0, sizeof(*out));
	if (!data && len)
		return fail(&c, "no input");
	if (len > PROTO_MAX_MSG) {
		rc = fail(&c, "message of %zu bytes is over %d", len, PROTO_MAX_MSG);
		goto out;
	}
	scan_state s = {.p = data, .len = len};
	if (!scan_object(&s, 0)) {
		rc = fail(&c, "bad msgpack: %s at byte %zu", s.why, s.pos);
		goto out;
	}
	if (s.pos != len) {
		rc = fail(&c, "%zu trailing bytes", len - s.pos);
		goto out;
	}
	size_t off = 0;
	msgpack_unpack_return ur = msgpack_unpack_next(&up, data, len, &off);
	if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
		rc = fail(&c, "bad msgpack: unpack returned %d", (int)ur);
		goto out;
	}
	const msgpack_object *top = &up.data;
	if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size != 3) {
		rc = fail(&c, "not a [version, type, body] array");
		goto out;
	}
	const msgpack_object *ver = &top->via.array.ptr[0];
	const msgpack_object *typ = &top->via.array.ptr[1];
	if (ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ver->via.u64 != PROTO_VERSION) {
		rc = fail(&c, "unsupported protocol version (want %d)", PROTO_VERSION);
		goto out;
	}
	const proto_schema *sc = NULL;
	if (typ->type == MSGPACK_OBJECT_POSITIVE_INTEGER && typ->via.u64 < PROTO_TYPE_LIMIT)
		sc = proto_schema_of((int)typ->via.u64);
	if (!sc) {
		rc = fail(&c, "unknown message type");
		goto out;
	}
	out->type = (proto_type)typ->via.u64;
	c.tname = sc->name;
	rc = decode_body(&c, sc, &top->via.array.ptr[2], out);
out:
	if (rc != TR_OK)
		proto_msg_free(out); /* frees what was copied so far and zeroes *out */
	msgpack_unpacked_destroy(&up);
	return rc;
}
