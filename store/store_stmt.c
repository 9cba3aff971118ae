/* store_stmt: the table of every prepared statement (see store_stmt.h); a statement not
 * listed here is refused by store_db_exec_prepared(). */
#include "store_stmt.h"

const store_stmt *const store_stmts[] = {
	&store_stmt_claim,   &store_stmt_insert, &store_stmt_known,    &store_stmt_triaged,
	&store_stmt_failed,  &store_stmt_retry,  &store_stmt_released, &store_stmt_retention,
	&store_stmt_reclaim, &store_stmt_confirm,
	&store_stmt_alerts_claim, &store_stmt_alerts_replies, &store_stmt_alerts_apply,
	&store_stmt_alerts_record, &store_stmt_nt_claim, &store_stmt_nt_sent, &store_stmt_nt_retry,
	&store_stmt_nt_fail, &store_stmt_nt_cancel, &store_stmt_nt_requeue, &store_stmt_nt_purge,
	&store_stmt_similar_any, &store_stmt_similar_jobs,
};
const size_t store_nstmts = sizeof store_stmts / sizeof store_stmts[0];

int store_stmt_index(const store_stmt *st)
{
	for (size_t i = 0; i < store_nstmts && i < STORE_STMT_MAX; i++)
		if (store_stmts[i] == st)
			return (int)i;
	return -1;
}
