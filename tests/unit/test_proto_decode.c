/* test_proto_decode: the strict decoder against malformed input of every kind: wrong
 * types, NUL bytes, versions, shapes, truncation, garbage, lying headers, size. */
#include "proto_fixtures.h"
#include "tr_log.h"

/* ---- wrong types, NUL bytes, versions, types, shapes ---- */

static void pk_int5(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, 5); }
static void pk_int2(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, 2); }
static void pk_neg1(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_int(pk, -1); }
static void pk_strv(msgpack_packer *pk, const void *a) { (void)a; pk_cstr(pk, "5"); }
static void pk_nil(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_nil(pk); }
static void pk_true(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_true(pk); }
static void pk_flt(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_double(pk, 5.0); }
static void pk_arr(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_array(pk, 0); }
static void pk_map(msgpack_packer *pk, const void *a) { (void)a; msgpack_pack_map(pk, 0); }
static void pk_bin(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_bin(pk, 1);
	msgpack_pack_bin_body(pk, "x", 1);
}
static void pk_map_intval(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 1);
	pk_cstr(pk, "k");
	msgpack_pack_int(pk, 1);
}
static void pk_map_intkey(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 1);
	msgpack_pack_int(pk, 1);
	pk_cstr(pk, "v");
}
static void pk_arr_int(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, 1);
}
static void pk_arr_str(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	pk_cstr(pk, "1");
}
static void pk_arr_zero(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, 0);
}
static void pk_arr_empty_map(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 0);
}

static void test_wrong_types(void **state)
{
	(void)state;
	static const pack_fn for_str[] = {pk_int5, pk_nil, pk_bin, pk_arr, pk_map, pk_true, NULL};
	static const pack_fn for_int[] = {pk_strv, pk_flt, pk_nil, pk_true, pk_arr, NULL};
	static const pack_fn for_bool[] = {pk_int5, pk_strv, pk_nil, NULL};
	static const pack_fn for_dbl[] = {pk_strv, pk_nil, pk_true, pk_int2, pk_neg1, NULL};
	static const pack_fn for_kv[] = {pk_arr, pk_strv, pk_map_intval, pk_map_intkey, NULL};
	static const pack_fn for_strv[] = {pk_map, pk_strv, pk_arr_int, NULL};
	static const pack_fn for_recs[] = {pk_map, pk_strv, pk_arr_int, pk_arr_empty_map, NULL};
	static const pack_fn for_i64v[] = {pk_map, pk_strv, pk_arr_str, pk_arr_zero, NULL};
	int cases = 0;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		const proto_schema *sc = proto_schema_of(t);
		for (size_t i = 0; i < sc->nfields; i++) {
			const proto_field *f = &sc->fields[i];
			const pack_fn *fns = f->kind == PF_STR    ? for_str
					     : f->kind == PF_BOOL ? for_bool
					     : f->kind == PF_DBL  ? for_dbl
					     : f->kind == PF_KV   ? for_kv
					     : f->kind == PF_STRV ? for_strv
					     : f->kind == PF_RECS ? for_recs
					     : f->kind == PF_I64V ? for_i64v
								  : for_int;
			for (; *fns; fns++, cases++) {
				proto_msg m = full_msg(t);
				raw_spec spec = {.name = f->name, .fn = *fns};
				expect_raw_reject(&m, &spec, f->name);
			}
		}
	}
	assert_true(cases > 200);
}

typedef struct {
	const char *s;
	size_t n;
} bytes;

static void pk_bytes(msgpack_packer *pk, const void *a)
{
	const bytes *b = a;
	pk_str(pk, b->s, b->n);
}
static void pk_kv_bytes_key(msgpack_packer *pk, const void *a)
{
	msgpack_pack_map(pk, 1);
	pk_bytes(pk, a);
	pk_cstr(pk, "v");
}
static void pk_kv_bytes_val(msgpack_packer *pk, const void *a)
{
	msgpack_pack_map(pk, 1);
	pk_cstr(pk, "k");
	pk_bytes(pk, a);
}
static void pk_arr_bytes(msgpack_packer *pk, const void *a)
{
	msgpack_pack_array(pk, 1);
	pk_bytes(pk, a);
}

static void test_nul_in_strings(void **state)
{
	(void)state;
	static const bytes nuls[] = {{"a\0b", 3}, {"\0", 1}, {"ab\0", 3}};
	for (size_t i = 0; i < 3; i++) {
		proto_msg m = full_msg(PROTO_SUBMIT);
		raw_spec spec = {.name = "title", .fn = pk_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		spec.name = "request_id";
		expect_raw_reject(&m, &spec, "NUL");
		spec = (raw_spec){.name = "labels", .fn = pk_kv_bytes_key, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		spec.fn = pk_kv_bytes_val;
		expect_raw_reject(&m, &spec, "NUL");
		m = full_msg(PROTO_RESULT);
		spec = (raw_spec){.name = "actions", .fn = pk_arr_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
		m = full_msg(PROTO_REPLY);
		spec = (raw_spec){.name = "json", .fn = pk_bytes, .arg = &nuls[i]};
		expect_raw_reject(&m, &spec, "NUL");
	}
}

static void pk_nested(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_map(pk, 2);
	pk_cstr(pk, "x");
	msgpack_pack_array(pk, 2);
	msgpack_pack_nil(pk);
	msgpack_pack_double(pk, 1.5);
	msgpack_pack_int(pk, 3);
	msgpack_pack_ext(pk, 2, 7);
	msgpack_pack_ext_body(pk, "ab", 2);
}

static void test_versions_types_shapes(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_EVENT), back;
	raw_spec spec = {.version = 2};
	expect_raw_reject(&m, &spec, "version");
	spec.version = 255;
	expect_raw_reject(&m, &spec, "version");
	spec = (raw_spec){.type = 8};
	expect_raw_reject(&m, &spec, "type");
	spec.type = 1000;
	expect_raw_reject(&m, &spec, "type");
	spec.type = -1;
	expect_raw_reject(&m, &spec, "type");
	/* the body of one type under another type's number */
	spec.type = PROTO_SUBMIT;
	expect_raw_reject(&m, &spec, "submit");

	/* hand-written shapes */
	static const struct {
		const char *bytes;
		size_t n;
		const char *why;
	} raw[] = {
		{"\x93\x00\x07\x80", 4, "version"},      /* version 0 */
		{"\x93\xa1" "1\x07\x80", 5, "version"},  /* version as a string */
		{"\x93\x01\x00\x80", 4, "type"},         /* type 0 */
		{"\x93\x01\xff\x80", 4, "type"},         /* type -1 */
		{"\x93\x01\xa1" "7\x80", 5, "type"},     /* type as a string */
		{"\x93\x01\x07\x90", 4, "map"},          /* body an array */
		{"\x93\x01\x07\xc0", 4, "map"},          /* body nil */
		{"\x92\x01\x07", 3, "array"},            /* two elements */
		{"\x94\x01\x07\x80\x80", 5, "array"},    /* four elements */
		{"\x81\xa1" "v\x01", 4, "array"},        /* a map at the top */
		{"\x93\x01\x07\x81\x01\x02", 6, "key"},  /* an integer body key */
		{"", 0, "truncated"},                   /* nothing */
		{"\xc1", 1, "tag"},                      /* the never-used tag */
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		expect_reject(raw[i].bytes, raw[i].n, raw[i].why);

	/* duplicate body keys */
	m = full_msg(PROTO_SUBMIT);
	spec = (raw_spec){.name = "title", .twice = true};
	expect_raw_reject(&m, &spec, "duplicate");

	/* unknown keys are ignored, whatever they hold */
	m = full_msg(PROTO_HEARTBEAT);
	spec = (raw_spec){.name = "future_field", .fn = pk_nested};
	size_t len;
	void *buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(buf);

	/* trailing bytes after a valid message */
	assert_int_equal(proto_encode(&m, &buf, &len), TR_OK);
	char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = '\xc0';
	expect_reject(longer, len + 1, "trailing");
	free(longer);
	free(buf);

	/* no input at all */
	expect_reject(NULL, 0, NULL);
	assert_int_equal(proto_decode(NULL, 0, &back, NULL, 0), TR_ERR_PROTO);
}

static void pk_fixu64(msgpack_packer *pk, const void *a)
{
	msgpack_pack_fix_uint64(pk, *(const uint64_t *)a);
}
static void pk_fixi8(msgpack_packer *pk, const void *a)
{
	msgpack_pack_fix_int8(pk, *(const int8_t *)a);
}
static void pk_f32(msgpack_packer *pk, const void *a)
{
	msgpack_pack_float(pk, *(const float *)a);
}
static void pk_i64(msgpack_packer *pk, const void *a)
{
	msgpack_pack_int64(pk, *(const int64_t *)a);
}

/* Every msgpack integer width is accepted, range is what counts. */
static void test_integer_encodings(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_RESULT), back;
	size_t len;
	void *buf;
	uint64_t u = 7;
	raw_spec spec = {.name = "attempt", .fn = pk_fixu64, .arg = &u};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_int_equal(back.u.result.attempt, 7);
	proto_msg_free(&back);
	free(buf);

	u = (uint64_t)INT32_MAX + 1; /* does not fit int32 */
	expect_raw_reject(&m, &spec, "attempt");
	u = (uint64_t)INT64_MAX + 1; /* does not fit int64 */
	spec.name = "incident_id";
	expect_raw_reject(&m, &spec, "incident_id");
	int64_t big_neg = INT64_MIN;
	spec = (raw_spec){.name = "latency_ms", .fn = pk_i64, .arg = &big_neg};
	expect_raw_reject(&m, &spec, "latency_ms");

	int8_t minus1 = -1;
	spec = (raw_spec){.name = "prompt_tokens", .fn = pk_fixi8, .arg = &minus1};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_int_equal(back.u.result.prompt_tokens, -1);
	proto_msg_free(&back);
	free(buf);

	float half = 0.5f;
	spec = (raw_spec){.name = "confidence", .fn = pk_f32, .arg = &half};
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_true(back.u.result.confidence == 0.5);
	proto_msg_free(&back);
	free(buf);
	float over = 1.25f;
	spec.arg = &over;
	expect_raw_reject(&m, &spec, "confidence");

	for (uint64_t v = 0; v <= 1; v++) {
		spec = (raw_spec){.name = "confidence", .fn = pk_fixu64, .arg = &v};
		buf = raw_encode(&m, &spec, &len);
		assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
		assert_true(back.u.result.confidence == (double)v);
		proto_msg_free(&back);
		free(buf);
	}
}

/* ---- truncation, garbage, hostile headers, size ---- */

static void test_truncated_prefixes(void **state)
{
	(void)state;
	for (int t = PROTO_SUBMIT; t <= PROTO_EVENT; t++) {
		proto_msg m = full_msg(t);
		void *buf;
		size_t len;
		assert_int_equal(proto_encode(&m, &buf, &len), TR_OK);
		for (size_t n = 0; n < len; n++) {
			/* a copy of exactly n bytes, so ASan sees any read past the end */
			void *prefix = malloc(n ? n : 1);
			memcpy(prefix, buf, n);
			expect_reject(prefix, n, NULL);
			free(prefix);
		}
		free(buf);
	}
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void decode_any(const void *buf, size_t len, int *ok, int *bad)
{
	proto_msg out;
	char err[128];
	int rc = proto_decode(buf, len, &out, err, sizeof(err));
	if (rc == TR_OK) {
		(*ok)++;
		proto_msg_free(&out);
	} else {
		assert_int_equal(rc, TR_ERR_PROTO);
		(*bad)++;
	}
}

static void test_random_garbage(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int ok = 0, bad = 0;
	uint8_t buf[128];
	/* pure noise, biased towards msgpack's interesting tags */
	for (int i = 0; i < 20000; i++) {
		size_t len = rng_next(&seed) % sizeof(buf);
		for (size_t j = 0; j < len; j++) {
			uint64_t r = rng_next(&seed);
			buf[j] = (r & 3) == 0 ? (uint8_t)(0x90 + (r >> 8) % 0x70) : (uint8_t)(r >> 16);
		}
		if (len >= 3 && (i & 1)) { /* a plausible header half of the time */
			buf[0] = 0x93;
			buf[1] = 0x01;
			buf[2] = (uint8_t)(1 + rng_next(&seed) % 7);
		}
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		decode_any(copy, len, &ok, &bad);
		free(copy);
	}
	/* valid messages with a few bytes changed, some cut short */
	for (int i = 0; i < 30000; i++) {
		proto_msg m = full_msg((proto_type)(1 + i % 7));
		void *enc;
		size_t len;
		assert_int_equal(proto_encode(&m, &enc, &len), TR_OK);
		uint8_t *p = enc;
		int flips = 1 + (int)(rng_next(&seed) % 4);
		for (int k = 0; k < flips; k++)
			p[rng_next(&seed) % len] = (uint8_t)rng_next(&seed);
		if (rng_next(&seed) % 4 == 0)
			len = rng_next(&seed) % len;
		decode_any(enc, len, &ok, &bad);
		free(enc);
	}
	assert_int_equal(ok + bad, 50000);
	assert_true(bad > 0);
	print_message("garbage: %d decoded, %d rejected\n", ok, bad);
}

#ifdef __SANITIZE_ADDRESS__
/* ASan's allocator hooks see every allocation, msgpack-c's included: a test-only
 * process-wide record of the largest one. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));
static size_t biggest_alloc;
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > biggest_alloc)
		biggest_alloc = n;
}
static void on_free(const volatile void *p)
{
	(void)p;
}
#endif

static void test_hostile_headers(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t n;
	} cases[] = {
		{"\xdd\xff\xff\xff\xff", 5},                        /* array32 of 2^32-1 */
		{"\xdf\xff\xff\xff\xff", 5},                        /* map32 of 2^32-1 */
		{"\xdb\xff\xff\xff\xff", 5},                        /* str32 of 4 GiB */
		{"\xc6\xff\xff\xff\xff", 5},                        /* bin32 */
		{"\xc9\xff\xff\xff\xff\x01", 6},                    /* ext32 */
		{"\xdc\xff\xff", 3},                                /* array16 of 65535 */
		{"\x93\x01\x01\xdf\xff\xff\xff\xff", 8},            /* body map32 */
		{"\x93\x01\x01\x81\xa6labels\xdf\xff\xff\xff\xff", 15}, /* labels map32 */
		{"\x93\x01\x05\x81\xa7" "actions\xdd\xff\xff\xff\xff", 16}, /* actions array32 */
		{"\x93\x01\x01\x81\xa5title\xdb\xff\xff\xff\xff", 14},   /* title str32 */
	};
	size_t n = 60000;
	uint8_t *prepared_many = malloc(n + 3);
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	void *volatile probe = malloc(4 << 20); /* the hook really sees allocations */
	free(probe);
	assert_true(biggest_alloc >= (4u << 20));
	biggest_alloc = 0;
#endif
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int rep = 0; rep < 100; rep++)
			expect_reject(cases[i].bytes, cases[i].n, NULL);
	}
	/* deep nesting, and many small real objects */
	uint8_t deep[200];
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	expect_reject(deep, sizeof(deep), "nested");
	uint8_t *many = prepared_many; /* allocated before the measurement began */
	many[0] = 0xdc;
	many[1] = (uint8_t)(n >> 8);
	many[2] = (uint8_t)n;
	memset(many + 3, 0xc0, n);
	expect_reject(many, n + 3, "too many");
	free(prepared_many);
#ifdef __SANITIZE_ADDRESS__
	print_message("largest allocation while decoding hostile input: %zu bytes\n", biggest_alloc);
	assert_true(biggest_alloc < (1u << 20));
#endif
}

static void pk_pad(msgpack_packer *pk, const void *a)
{
	size_t n = *(const size_t *)a;
	char *s = repeat('x', n);
	pk_str(pk, s, n);
	free(s);
}

static void test_size_limit(void **state)
{
	(void)state;
	/* a reply padded (with an unknown key) to exactly PROTO_MAX_MSG decodes... */
	proto_msg m = full_msg(PROTO_REPLY), back;
	char *json = repeat('j', PROTO_JSON_MAX / 2);
	m.u.reply.json = json;
	size_t pad = 70000, len; /* str32 header either way */
	raw_spec spec = {.name = "padding", .fn = pk_pad, .arg = &pad};
	void *buf = raw_encode(&m, &spec, &len);
	free(buf);
	pad += PROTO_MAX_MSG - len;
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(len, PROTO_MAX_MSG);
	assert_int_equal(proto_decode(buf, len, &back, NULL, 0), TR_OK);
	assert_msg_equal(&m, &back);
	proto_msg_free(&back);
	free(buf);
	/* ...and one byte more does not */
	pad++;
	buf = raw_encode(&m, &spec, &len);
	assert_int_equal(len, PROTO_MAX_MSG + 1);
	expect_reject(buf, len, "over");
	free(buf);
	free(json);
}

/* A message that fails late (its last label) leaves nothing allocated (ASan checks). */
static void test_late_failure_frees(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_SUBMIT);
	proto_kv kv[3] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
	m.u.submit.labels = kv;
	m.u.submit.nlabels = 3;
	expect_invalid_both_ways(&m, "duplicate");
	m = full_msg(PROTO_RESULT);
	char *acts[3] = {"one", "two", NULL};
	char *longact = repeat('a', PROTO_ACTION_MAX + 1);
	acts[2] = longact;
	m.u.result.actions = acts;
	m.u.result.nactions = 3;
	expect_invalid_both_ways(&m, "actions");
	free(longact);
}

int main(void)
{
	tr_log_init("test_proto_decode", TR_LOG_ERROR); /* refusals log warnings */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_nul_in_strings),
		cmocka_unit_test(test_versions_types_shapes),
		cmocka_unit_test(test_integer_encodings),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_late_failure_frees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
