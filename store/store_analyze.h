/* store_analyze: keeps PostgreSQL's plans in step with the incidents table's growth. Once
 * a second it compares the live row count with what the planner's statistics say, and
 * ANALYZEs the table once it has more than doubled (a deployment's first hours, a
 * bulk import), which also makes every cached plan on it be made again. */
#ifndef STORE_ANALYZE_H
#define STORE_ANALYZE_H

#include "store_chore.h"
#include "store_config.h"

typedef store_chore store_analyze;

/* Starts the chore (its own database connection). TR_OK or TR_ERR_NOMEM/INTERNAL. Stop
 * with store_analyze_stop (NULL is fine). */
int store_analyze_start(const store_config *cfg, store_analyze **out);
void store_analyze_stop(store_analyze *a);

#endif
