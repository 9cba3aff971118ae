/* test_enr_oneshot: the one-shot mode's input checks (clear errors, exit 2) and its
 * output with the rules backend (the triage as JSON, exit 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oneshot.h"
#include "tr_log.h"

static void test_parse_valid(void **state)
{
	(void)state;
	const char *in = "{\"title\":\"Disk full\",\"description\":\"/var at 100%\",\"source\":\"alertmanager\","
			 "\"service\":null,\"labels\":{\"env\":\"prod\",\"team\":\"db\"},\"id\":42}";
	json_t *root = NULL;
	triage_incident inc;
	proto_kv labels[PROTO_LABELS_MAX];
	char why[256];
	assert_true(enr_oneshot_parse(in, strlen(in), &root, &inc, labels, why, sizeof why));
	assert_string_equal(inc.title, "Disk full");
	assert_string_equal(inc.description, "/var at 100%");
	assert_string_equal(inc.source, "alertmanager");
	assert_null(inc.service);
	assert_int_equal(inc.nlabels, 2);
	json_decref(root);

	const char *minimal = "{\"title\":\"x\"}";
	assert_true(enr_oneshot_parse(minimal, strlen(minimal), &root, &inc, labels, why, sizeof why));
	assert_string_equal(inc.description, "");
	json_decref(root);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *in, *why;
	} cases[] = {
		{"", "not JSON"},
		{"{\"title\":", "not JSON"},
		{"[\"title\"]", "object"},
		{"{}", "title"},
		{"{\"title\":\"\"}", "empty"},
		{"{\"title\":3}", "title"},
		{"{\"title\":\"x\",\"description\":[]}", "description"},
		{"{\"title\":\"x\",\"labels\":[\"a\"]}", "labels"},
		{"{\"title\":\"x\",\"labels\":{\"k\":1}}", "label"},
		{"{\"title\":\"x\",\"labels\":{\"\":\"v\"}}", "label"},
		{"{\"title\":\"x\",\"title\":\"y\"}", "not JSON"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *root = NULL;
		triage_incident inc;
		proto_kv labels[PROTO_LABELS_MAX];
		char why[256] = "";
		bool ok = enr_oneshot_parse(cases[i].in, strlen(cases[i].in), &root, &inc, labels, why,
					    sizeof why);
		if (ok || !strstr(why, cases[i].why))
			fail_msg("case %zu '%s': ok=%d why='%s'", i, cases[i].in, ok, why);
	}
	/* Over the bounds. */
	size_t n = PROTO_DESC_MAX + 100;
	char *big = malloc(n + 64);
	int off = sprintf(big, "{\"title\":\"x\",\"description\":\"");
	memset(big + off, 'a', n);
	strcpy(big + off + n, "\"}");
	json_t *root = NULL;
	triage_incident inc;
	proto_kv labels[PROTO_LABELS_MAX];
	char why[256];
	assert_false(enr_oneshot_parse(big, strlen(big), &root, &inc, labels, why, sizeof why));
	assert_non_null(strstr(why, "longer"));
	free(big);
}

static int run(const char *input, char **output)
{
	enr_config cfg;
	char err[200];
	unsetenv("TRIAGE_LLM_BACKEND");
	assert_int_equal(enr_config_load(&cfg, err, sizeof err), 0);
	enr_backend b = {.kind = ENR_BACKEND_RULES, .cfg = &cfg};
	FILE *in = fmemopen((void *)input, strlen(input), "r");
	size_t len = 0;
	FILE *out = open_memstream(output, &len);
	int code = enr_oneshot(&b, NULL, in, out);
	fclose(in);
	fclose(out);
	enr_config_free(&cfg);
	return code;
}

static void test_run_rules(void **state)
{
	(void)state;
	char *out = NULL;
	int code = run("{\"title\":\"TLS certificate expired on api.example.com\","
		       "\"description\":\"Browsers show certificate errors for all users\"}",
		       &out);
	assert_int_equal(code, ONESHOT_OK);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "backend")), "rules");
	assert_string_equal(json_string_value(json_object_get(j, "category")), "network");
	assert_true(json_is_string(json_object_get(j, "severity")));
	assert_true(json_is_array(json_object_get(j, "suggested_actions")));
	assert_true(json_is_number(json_object_get(j, "confidence")));
	assert_true(json_is_integer(json_object_get(j, "latency_ms")));
	assert_true(json_is_object(json_object_get(j, "tokens")));
	assert_null(json_object_get(j, "fallback"));
	json_decref(j);
	free(out);

	code = run("{\"title\": nope}", &out);
	assert_int_equal(code, ONESHOT_BAD_INPUT);
	j = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_input");
	assert_true(json_is_string(json_object_get(j, "detail")));
	json_decref(j);
	free(out);
}

int main(void)
{
	tr_log_init("test", TR_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_run_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
