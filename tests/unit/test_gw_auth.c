/* test_gw_auth: SHA-256 (libcrypto) against FIPS 180-4 vectors, roles, the key set
 * (configured keys are admins, short keys only on loopback, the development key only on
 * loopback), the cache of store-confirmed keys and its expiry, header forms (X-API-KEY,
 * Bearer, Basic), new random keys, constant-time equality and idempotency namespaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_auth.h"
#include "gw_sha256.h"
#include "tr_err.h"

static char hex[65];

static const char *sha_hex(const void *data, size_t len)
{
	uint8_t d[32];
	gw_sha256(data, len, d);
	gw_hex(d, 32, hex);
	return hex;
}

static void test_sha256_vectors(void **state)
{
	(void)state;
	assert_string_equal(sha_hex("", 0),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(sha_hex("abc", 3),
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_string_equal(sha_hex(two, strlen(two)),
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a', fed in pieces */
	uint8_t d[32];
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	const void *parts[] = {a, a + 1, a + 1000};
	size_t lens[] = {1, 999, 999000};
	gw_sha256_v(3, parts, lens, d);
	gw_hex(d, 32, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
	uint8_t back[32];
	assert_true(gw_unhex(hex, back, 32));
	assert_memory_equal(back, d, 32);
	assert_false(gw_unhex("zz", back, 1));
	assert_false(gw_unhex("abc", back, 1));
	/* 55, 56 and 64 bytes: the padding edge cases */
	assert_string_equal(sha_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55),
			    "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	assert_string_equal(sha_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56),
			    "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	assert_string_equal(
		sha_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64),
		"ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

#define K1 "alpha-0123456789abcdefghij"
#define K2 "beta-0123456789abcdefghijk"
#define K3 "gamma-0123456789abcdefghij"

static bool ok(gw_auth *a, const char *key, gw_principal *p)
{
	return gw_auth_check(a, key, strlen(key), 1000, p) == GW_AUTH_OK;
}

static void test_keys_configured(void **state)
{
	(void)state;
	gw_auth *a = NULL;
	char err[256];
	gw_principal p, p2;
	assert_int_equal(gw_auth_create(" " K1 " , " K2 ",," K3 " ", false, 5000, &a, err, sizeof err),
			 TR_OK);
	assert_false(gw_auth_dev_mode(a));
	assert_true(ok(a, K1, &p));
	assert_int_equal(p.role, GW_ROLE_ADMIN);
	assert_string_equal(p.id, "cfg1");
	assert_true(ok(a, K2, &p2));
	assert_string_equal(p2.id, "cfg2");
	assert_memory_not_equal(p.digest, p2.digest, 32);
	assert_true(ok(a, K3, &p));
	assert_string_equal(p.id, "cfg3");
	/* anything else must be looked up in the store */
	assert_int_equal(gw_auth_check(a, "alpha-0123456789abcdefghi", 25, 1000, &p), GW_AUTH_LOOKUP);
	assert_int_equal(gw_auth_check(a, "secret123", 9, 1000, &p), GW_AUTH_LOOKUP);
	assert_int_equal(gw_auth_check(a, "", 0, 1000, &p), GW_AUTH_UNKNOWN);
	/* the digest is the key's SHA-256 */
	uint8_t d[32];
	assert_true(ok(a, K2, &p));
	gw_sha256(K2, strlen(K2), d);
	assert_memory_equal(p.digest, d, 32);
	gw_auth_free(a);
}

static void test_short_keys_only_on_loopback(void **state)
{
	(void)state;
	gw_auth *a = NULL;
	char err[256] = "";
	assert_int_equal(gw_auth_create("zq", false, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_null(a);
	assert_non_null(strstr(err, "shorter than 24"));
	assert_null(strstr(err, "zq")); /* never quotes a key */
	assert_int_equal(gw_auth_create(K1 ",k2", false, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "key #2"));
	assert_int_equal(gw_auth_create("k1,k2", true, 0, &a, err, sizeof err), TR_OK);
	gw_principal p;
	assert_true(ok(a, "k2", &p));
	assert_int_equal(p.role, GW_ROLE_ADMIN);
	gw_auth_free(a);
}

static void test_dev_key_loopback_only(void **state)
{
	(void)state;
	gw_auth *a = NULL;
	char err[256] = "";
	gw_principal p;
	assert_int_equal(gw_auth_create("", true, 0, &a, err, sizeof err), TR_OK);
	assert_true(gw_auth_dev_mode(a));
	assert_true(ok(a, "secret123", &p));
	assert_string_equal(p.id, "dev");
	assert_int_equal(p.role, GW_ROLE_ADMIN);
	assert_false(ok(a, "secret1234", &p));
	gw_auth_free(a);

	a = NULL;
	assert_int_equal(gw_auth_create("", false, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_null(a);
	assert_non_null(strstr(err, "TRIAGE_API_KEYS"));
	assert_int_equal(gw_auth_create(" , ,", false, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_int_equal(gw_auth_create(NULL, false, 0, &a, err, sizeof err), TR_ERR_INVALID);
	/* a long configured key on a public address is fine */
	assert_int_equal(gw_auth_create(K1, false, 0, &a, err, sizeof err), TR_OK);
	gw_auth_free(a);
}

static void test_cache_expires(void **state)
{
	(void)state;
	gw_auth *a = NULL;
	char err[256];
	gw_principal p, q;
	assert_int_equal(gw_auth_create(K1, false, 500, &a, err, sizeof err), TR_OK);
	const char *key = "trk_some-store-key-0123456789abcdef";
	assert_int_equal(gw_auth_check(a, key, strlen(key), 1000, &p), GW_AUTH_LOOKUP);
	p.role = GW_ROLE_VIEWER;
	snprintf(p.id, sizeof p.id, "k7");
	gw_auth_remember(a, &p, 1000);
	assert_int_equal(gw_auth_check(a, key, strlen(key), 1499, &q), GW_AUTH_OK);
	assert_int_equal(q.role, GW_ROLE_VIEWER);
	assert_string_equal(q.id, "k7");
	/* after cache_ms the store must be asked again (a revoked key stops working) */
	assert_int_equal(gw_auth_check(a, key, strlen(key), 1500, &q), GW_AUTH_LOOKUP);
	/* another key in the same slot is not confused with it */
	assert_int_equal(gw_auth_check(a, "trk_other", 9, 1000, &q), GW_AUTH_LOOKUP);
	gw_auth_free(a);
}

static void test_roles(void **state)
{
	(void)state;
	gw_role r;
	assert_true(gw_role_parse("viewer", &r) && r == GW_ROLE_VIEWER);
	assert_true(gw_role_parse("admin", &r) && r == GW_ROLE_ADMIN);
	assert_false(gw_role_parse("Admin", &r));
	assert_false(gw_role_parse("none", &r));
	assert_false(gw_role_parse(NULL, &r));
	assert_true(gw_role_allows(GW_ROLE_NONE, GW_ROLE_NONE));
	assert_false(gw_role_allows(GW_ROLE_NONE, GW_ROLE_VIEWER));
	assert_true(gw_role_allows(GW_ROLE_RESPONDER, GW_ROLE_REPORTER));
	assert_false(gw_role_allows(GW_ROLE_VIEWER, GW_ROLE_REPORTER));
	assert_false(gw_role_allows(GW_ROLE_RESPONDER, GW_ROLE_ADMIN));
	assert_true(gw_role_allows(GW_ROLE_ADMIN, GW_ROLE_RESPONDER));
	assert_string_equal(gw_role_name(GW_ROLE_REPORTER), "reporter");
}

static void test_new_keys(void **state)
{
	(void)state;
	char k1[GW_KEY_TEXT_LEN + 1], k2[GW_KEY_TEXT_LEN + 1];
	assert_true(gw_auth_new_key(k1));
	assert_true(gw_auth_new_key(k2));
	assert_int_equal(strlen(k1), GW_KEY_TEXT_LEN);
	assert_true(strlen(k1) >= GW_AUTH_MIN_KEY_LEN);
	assert_memory_equal(k1, "trk_", 4);
	assert_string_not_equal(k1, k2);
	for (size_t i = 4; i < GW_KEY_TEXT_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
				       k1[i]));
}

static void test_bad_keys(void **state)
{
	(void)state;
	gw_auth *a = NULL;
	char err[256];
	assert_int_equal(gw_auth_create("good,b\x01d", true, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_non_null(strstr(err, "key #2"));
	assert_null(strstr(err, "good")); /* never quotes a key */
	assert_int_equal(gw_auth_create("has space", true, 0, &a, err, sizeof err), TR_ERR_INVALID);
	assert_int_equal(gw_auth_create("caf\xc3\xa9", true, 0, &a, err, sizeof err), TR_ERR_INVALID);
	char big[300];
	memset(big, 'k', 256);
	big[256] = '\0';
	assert_int_equal(gw_auth_create(big, true, 0, &a, err, sizeof err), TR_ERR_INVALID);
	big[255] = '\0';
	assert_int_equal(gw_auth_create(big, true, 0, &a, err, sizeof err), TR_OK);
	gw_auth_free(a);
	/* more than the maximum number of keys */
	char many[GW_AUTH_MAX_KEYS * 4 + 16] = "";
	for (int i = 0; i <= GW_AUTH_MAX_KEYS; i++)
		sprintf(many + strlen(many), "%sk%d", i ? "," : "", i);
	assert_int_equal(gw_auth_create(many, true, 0, &a, err, sizeof err), TR_ERR_INVALID);
}

static void presented(const char *x, const char *authz, const char *want)
{
	char key[GW_AUTH_KEY_MAX + 1];
	size_t len = 0;
	bool ok = gw_auth_presented(x, authz, key, &len);
	if (!want) {
		assert_false(ok);
		return;
	}
	assert_true(ok);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(key, want, len);
}

static void test_presented_forms(void **state)
{
	(void)state;
	presented("k1", NULL, "k1");
	presented("k1", "Bearer k2", "k1"); /* X-API-KEY wins */
	presented(NULL, "Bearer k2", "k2");
	presented(NULL, "bearer k2", "k2");
	presented(NULL, "BEARER   k2  ", "k2");
	presented(NULL, "  Bearer\tk2", "k2");
	presented(" k1 ", NULL, "k1");
	presented(NULL, "Basic dXNlcjpwYXNz", "pass");       /* user:pass */
	presented(NULL, "basic  OnNlY3JldDEyMw==", "secret123"); /* :secret123 */
	presented(NULL, "Basic YWRtaW46YWJj", "abc");        /* admin:abc */
	presented(NULL, "Basic dXNlcg==", NULL);              /* no colon */
	presented(NULL, "Basic dXNlcjo=", NULL);              /* empty password */
	presented(NULL, "Basic !!!!", NULL);
	presented(NULL, "Basic abc", NULL);
	presented(NULL, "Bearer", NULL);
	presented(NULL, "Bearer ", NULL);
	presented(NULL, "Bearerk2", NULL);
	presented("", NULL, NULL);
	presented("", "Bearer k2", "k2"); /* a blank X-API-KEY does not hide the bearer */
	presented("  ", "Bearer k2", "k2");
	presented(NULL, NULL, NULL);
}

static void test_ct_equal(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	memset(a, 7, sizeof a);
	memcpy(b, a, sizeof b);
	assert_true(gw_ct_equal(a, b, 32));
	assert_true(gw_ct_equal(a, b, 0));
	for (int i = 0; i < 32; i++) {
		b[i] ^= 0x80;
		assert_false(gw_ct_equal(a, b, 32));
		b[i] ^= 0x80;
		b[i] ^= 0x01;
		assert_false(gw_ct_equal(a, b, 32));
		b[i] ^= 0x01;
	}
}

static void test_idempotency_namespace(void **state)
{
	(void)state;
	uint8_t t1[32], t2[32];
	char k1[65], k2[65], k3[65], k4[65];
	gw_sha256("tenant-one", 10, t1);
	gw_sha256("tenant-two", 10, t2);
	gw_auth_idempotency_key(t1, "order-1", 7, k1);
	gw_auth_idempotency_key(t2, "order-1", 7, k2);
	gw_auth_idempotency_key(t1, "order-1", 7, k3);
	gw_auth_idempotency_key(t1, "order-2", 7, k4);
	assert_int_equal(strlen(k1), 64);
	assert_string_not_equal(k1, k2); /* two tenants never collide */
	assert_string_equal(k1, k3);     /* stable */
	assert_string_not_equal(k1, k4);
	for (int i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", k1[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),	  cmocka_unit_test(test_keys_configured),
		cmocka_unit_test(test_dev_key_loopback_only), cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_presented_forms),	  cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_idempotency_namespace), cmocka_unit_test(test_short_keys_only_on_loopback),
		cmocka_unit_test(test_cache_expires),	  cmocka_unit_test(test_roles),
		cmocka_unit_test(test_new_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
