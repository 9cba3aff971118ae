/* Unit tests for proto/proto_contract: the lists, their counts and joined forms agree,
 * and lookups match whole names only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto_contract.h"

static size_t len_of(const char *const *list)
{
	size_t n = 0;
	while (list[n])
		n++;
	return n;
}

static void check_join(const char *const *list, const char *joined)
{
	char buf[256] = "";
	for (size_t i = 0; list[i]; i++) {
		if (i)
			strcat(buf, "|");
		strcat(buf, list[i]);
	}
	assert_string_equal(buf, joined);
}

static void test_counts_and_joins_agree(void **state)
{
	(void)state;
	assert_int_equal(len_of(proto_severities), PROTO_NSEVERITIES);
	assert_int_equal(len_of(proto_categories), PROTO_NCATEGORIES);
	assert_int_equal(len_of(proto_statuses), PROTO_NSTATUSES);
	assert_int_equal(len_of(proto_states), PROTO_NSTATES);
	check_join(proto_severities, PROTO_JOIN(PROTO_SEVERITIES));
	check_join(proto_categories, PROTO_JOIN(PROTO_CATEGORIES));
	check_join(proto_statuses, PROTO_JOIN(PROTO_STATUSES));
	check_join(proto_states, PROTO_JOIN(PROTO_STATES));
	assert_string_equal(proto_severities[0], "critical"); /* most severe first */
	assert_string_equal(proto_categories[PROTO_NCATEGORIES - 1], "other");
}

static void test_lookups_match_whole_names(void **state)
{
	(void)state;
	assert_true(proto_is_severity("low"));
	assert_false(proto_is_severity("lo"));
	assert_false(proto_is_severity("lower"));
	assert_false(proto_is_severity(NULL));
	assert_false(proto_is_severity("LOW"));
	assert_true(proto_is_category("other"));
	assert_false(proto_is_category("disk"));
	assert_ptr_equal(proto_enum_find(proto_states, "resolvedX", 8), proto_states[2]);
	assert_null(proto_enum_find(proto_states, "resolved", 7));
	assert_null(proto_enum_find(proto_statuses, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_joins_agree),
		cmocka_unit_test(test_lookups_match_whole_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
