/* Unit tests for store/store_stmt: every prepared statement has a short, unique,
 * constant name (PostgreSQL keeps only the first 63 bytes of a name). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "store_stmt.h"

static void test_names_are_short_and_plain(void **state)
{
	(void)state;
	assert_true(store_nstmts > 0);
	assert_true(store_nstmts <= STORE_STMT_MAX);
	assert_true(STORE_STMT_NAME_MAX < 63);
	for (size_t i = 0; i < store_nstmts; i++) {
		const char *name = store_stmts[i]->name;
		size_t n = strlen(name);
		if (n == 0 || n > STORE_STMT_NAME_MAX)
			fail_msg("statement %zu: name of %zu bytes", i, n);
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz_") != n)
			fail_msg("statement name %s: only a-z and _", name);
		const char *sql = store_stmts[i]->sql;
		assert_non_null(sql);
		assert_true(strlen(sql) > 20);
		assert_string_not_equal(name, sql);
	}
}

static void test_names_and_statements_are_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < store_nstmts; i++) {
		for (size_t j = i + 1; j < store_nstmts; j++) {
			if (strncmp(store_stmts[i]->name, store_stmts[j]->name, 63) == 0)
				fail_msg("statements %zu and %zu share the name %s", i, j,
					 store_stmts[i]->name);
			assert_true(store_stmts[i] != store_stmts[j]);
			assert_string_not_equal(store_stmts[i]->sql, store_stmts[j]->sql);
		}
	}
}

static void test_index_refuses_unlisted(void **state)
{
	(void)state;
	static const store_stmt stray = {"stray", "SELECT 1 WHERE false"};
	for (size_t i = 0; i < store_nstmts; i++)
		assert_int_equal(store_stmt_index(store_stmts[i]), (int)i);
	assert_int_equal(store_stmt_index(&stray), -1);
	assert_int_equal(store_stmt_index(&store_stmt_claim) >= 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_are_short_and_plain),
		cmocka_unit_test(test_names_and_statements_are_unique),
		cmocka_unit_test(test_index_refuses_unlisted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
