/* test_store_results: the checks a result from an enricher must pass before the store
 * applies it (store/store_results.c): nothing from an enricher is trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "store_results.h"

static char *actions[] = {"Free space on /var", "Rotate logs"};

static proto_result triaged(void)
{
	proto_result r = {0};
	r.incident_id = 7;
	r.attempt = 1;
	r.enricher_id = "enricher1";
	r.outcome = PROTO_OUTCOME_TRIAGED;
	r.summary = "The production disk is full.";
	r.severity = "critical";
	r.category = "storage";
	r.actions = actions;
	r.nactions = 2;
	r.confidence = 0.9;
	r.backend = "ollama";
	r.model = "phi3:mini";
	r.prompt_version = "v1";
	r.latency_ms = 1234;
	r.prompt_tokens = -1;
	r.completion_tokens = 55;
	return r;
}

static void test_valid(void **state)
{
	(void)state;
	char d[200];
	proto_result r = triaged();
	assert_true(store_result_check(&r, d, sizeof(d)));
	r.model = "";
	r.prompt_version = "";
	r.nactions = 0;
	assert_true(store_result_check(&r, d, sizeof(d)));
	proto_result f = {.incident_id = 1, .attempt = 3, .enricher_id = "e",
			  .outcome = PROTO_OUTCOME_FAILED, .reason = "model_not_found",
			  .detail = "model 'x' not found"};
	assert_true(store_result_check(&f, d, sizeof(d)));
	f.outcome = PROTO_OUTCOME_RETRY;
	f.detail = NULL;
	assert_true(store_result_check(&f, d, sizeof(d)));
	proto_result rel = {.incident_id = 1, .attempt = 1, .enricher_id = "e",
			    .outcome = PROTO_OUTCOME_RELEASED};
	assert_true(store_result_check(&rel, d, sizeof(d)));
}

static void test_rejected(void **state)
{
	(void)state;
	char d[200];
	proto_result r;
#define BAD(mutation)                                        \
	do {                                                 \
		r = triaged();                               \
		mutation;                                    \
		assert_false(store_result_check(&r, d, sizeof(d))); \
	} while (0)
	BAD(r.incident_id = 0);
	BAD(r.attempt = 0);
	BAD(r.enricher_id = "");
	BAD(r.enricher_id = "bad id");
	BAD(r.outcome = 9);
	BAD(r.severity = "urgent");
	BAD(r.severity = NULL);
	BAD(r.category = "weather");
	BAD(r.summary = "");
	BAD(r.summary = "\xff\xfe");
	BAD(r.confidence = 1.5);
	BAD(r.confidence = -0.1);
	BAD(r.confidence = NAN);
	BAD(r.nactions = 6);
	BAD(r.backend = "");
	BAD(r.backend = "ollama; drop");
	BAD(r.model = "bad model");
	BAD(r.latency_ms = -1);
	BAD(r.prompt_tokens = -2);
	BAD(r.completion_tokens = 2000000000);
	char longsum[PROTO_SUMMARY_MAX + 2];
	memset(longsum, 's', sizeof(longsum) - 1);
	longsum[sizeof(longsum) - 1] = '\0';
	BAD(r.summary = longsum);
	char *bad_actions[] = {"ok", ""};
	BAD((r.actions = bad_actions, r.nactions = 2));
	BAD((r.outcome = PROTO_OUTCOME_FAILED, r.reason = NULL));
	BAD((r.outcome = PROTO_OUTCOME_RETRY, r.reason = "has space"));
	BAD((r.outcome = PROTO_OUTCOME_FAILED, r.reason = "timeout", r.detail = "\xc3"));
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
