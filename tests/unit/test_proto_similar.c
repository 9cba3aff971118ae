/* test_proto_similar: the optional memory fields of the wire contract: a job's similar
 * incidents and a result's similar_used ids (round trips, old peers, bounds, bad input). */
#include "proto_fixtures.h"
#include "tr_log.h"

#include <math.h>

static void test_round_trip_and_old_peers(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_JOB), back;
	round_trip(&m, &back);
	assert_msg_equal(&m, &back);
	assert_int_equal(back.u.job.nsimilar, 2);
	assert_int_equal(back.u.job.similar[0].incident_id, 123);
	assert_true(back.u.job.similar[0].human_labelled);
	assert_string_equal(back.u.job.similar[0].resolution_note, "Rotated the logs; grew /var");
	assert_string_equal(back.u.job.similar[1].severity, "");
	assert_false(back.u.job.similar[0].unresolved);
	assert_true(back.u.job.similar[1].unresolved);
	proto_msg_free(&back);

	/* a record that leaves out its optional strings decodes them as "" */
	proto_similar bare = {.incident_id = 7, .title = "t"};
	m.u.job.similar = &bare;
	m.u.job.nsimilar = 1;
	round_trip(&m, &back);
	assert_string_equal(back.u.job.similar[0].severity, "");
	assert_string_equal(back.u.job.similar[0].resolution_note, "");
	assert_false(back.u.job.similar[0].human_labelled);
	assert_false(back.u.job.similar[0].unresolved); /* an older store's: resolved ones */
	proto_msg_free(&back);

	/* an old peer's job and result (no memory fields) still decode, empty */
	m = min_msg(PROTO_JOB);
	round_trip(&m, &back);
	assert_int_equal(back.u.job.nsimilar, 0);
	assert_null(back.u.job.similar);
	proto_msg_free(&back);
	m = full_msg(PROTO_RESULT);
	m.u.result.nsimilar_used = 0;
	m.u.result.similar_used = NULL;
	round_trip(&m, &back);
	assert_int_equal(back.u.result.nsimilar_used, 0);
	proto_msg_free(&back);
	m = full_msg(PROTO_RESULT);
	round_trip(&m, &back);
	assert_int_equal(back.u.result.nsimilar_used, 2);
	assert_int_equal(back.u.result.similar_used[1], 45);
	proto_msg_free(&back);
}

static void test_bounds(void **state)
{
	(void)state;
	proto_similar six[6];
	for (int i = 0; i < 6; i++)
		six[i] = (proto_similar){.incident_id = i + 1, .title = "t"};
	proto_msg m = full_msg(PROTO_JOB);
	m.u.job.similar = six;
	m.u.job.nsimilar = 6;
	expect_invalid_both_ways(&m, "similar");
	m.u.job.nsimilar = 5;
	proto_msg back;
	round_trip(&m, &back);
	proto_msg_free(&back);

	/* one note over its bound */
	char *note = repeat('n', PROTO_SIMILAR_NOTE_MAX + 1);
	proto_similar one = {.incident_id = 1, .title = "t", .resolution_note = note};
	m.u.job.similar = &one;
	m.u.job.nsimilar = 1;
	expect_invalid_both_ways(&m, "resolution_note");
	note[PROTO_SIMILAR_NOTE_MAX] = '\0';
	round_trip(&m, &back);
	proto_msg_free(&back);

	/* each entry within its bounds, all of them together over PROTO_SIMILAR_BYTES */
	char *title = repeat('t', PROTO_TITLE_MAX);
	proto_similar five[5];
	for (int i = 0; i < 5; i++)
		five[i] = (proto_similar){.incident_id = i + 1, .title = title, .resolution_note = note};
	m.u.job.similar = five;
	m.u.job.nsimilar = 5;
	expect_invalid_both_ways(&m, "similar");
	m.u.job.nsimilar = 3; /* 3 * (800 + 1024) fits */
	round_trip(&m, &back);
	proto_msg_free(&back);
	free(title);
	free(note);

	/* score, id */
	proto_similar bad = {.incident_id = 1, .title = "t", .score = 1.5};
	m.u.job.similar = &bad;
	m.u.job.nsimilar = 1;
	expect_invalid_both_ways(&m, "score");
	bad.score = NAN;
	expect_invalid_both_ways(&m, "score");
	bad.score = 0.5;
	bad.incident_id = 0;
	expect_invalid_both_ways(&m, "incident_id");
	bad.incident_id = 1;
	bad.title = NULL;
	expect_invalid_both_ways(&m, "title");

	/* similar_used: at most PROTO_SIMILAR_MAX positive ids */
	int64_t ids[6] = {1, 2, 3, 4, 5, 6};
	m = full_msg(PROTO_RESULT);
	m.u.result.similar_used = ids;
	m.u.result.nsimilar_used = 6;
	expect_invalid_both_ways(&m, "similar_used");
	ids[0] = 0;
	m.u.result.nsimilar_used = 1;
	expect_invalid_both_ways(&m, "similar_used");
}

/* A record packed by hand: fn packs the similar array. */
static void pk_rec_wrong(msgpack_packer *pk, const void *a)
{
	const char *which = a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	pk_cstr(pk, "incident_id");
	msgpack_pack_int(pk, 5);
	pk_cstr(pk, "title");
	pk_cstr(pk, "t");
	pk_cstr(pk, which);
	if (strcmp(which, "human_labelled") == 0)
		msgpack_pack_int(pk, 1);
	else if (strcmp(which, "future_field") == 0)
		pk_cstr(pk, "a newer peer's key");
	else
		msgpack_pack_int(pk, 7); /* a string field given an integer */
}

static void pk_rec_nested(msgpack_packer *pk, const void *a)
{
	(void)a;
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 0);
}

static void test_malformed_records(void **state)
{
	(void)state;
	proto_msg m = full_msg(PROTO_JOB);
	const char *bad[] = {"human_labelled", "resolution_note", "severity"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		raw_spec spec = {.name = "similar", .fn = pk_rec_wrong, .arg = bad[i]};
		expect_raw_reject(&m, &spec, bad[i]);
	}
	raw_spec nested = {.name = "similar", .fn = pk_rec_nested};
	expect_raw_reject(&m, &nested, "entry 0 is not a map");

	/* an unknown key inside a record is ignored (a newer peer) */
	raw_spec future = {.name = "similar", .fn = pk_rec_wrong, .arg = "future_field"};
	size_t len = 0;
	void *buf = raw_encode(&m, &future, &len);
	proto_msg back;
	char err[256];
	assert_int_equal(proto_decode(buf, len, &back, err, sizeof(err)), TR_OK);
	assert_int_equal(back.u.job.nsimilar, 1);
	assert_int_equal(back.u.job.similar[0].incident_id, 5);
	proto_msg_free(&back);
	free(buf);

	/* every truncation of a job with similar entries is rejected, nothing leaks */
	void *full = NULL;
	size_t flen = 0;
	assert_int_equal(proto_encode(&m, &full, &flen), TR_OK);
	for (size_t cut = 0; cut < flen; cut++)
		expect_reject(full, cut, NULL);
	free(full);
}

int main(void)
{
	tr_log_init("test_proto_similar", TR_LOG_ERROR); /* refusals log warnings */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_old_peers),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_malformed_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
