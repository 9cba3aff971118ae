/* store_migrate: applies sql/NNN_*.sql at start, in numeric order, each once and each
 * in its own transaction, recorded in schema_migrations. An advisory lock keeps two
 * stores starting together from racing. */
#ifndef STORE_MIGRATE_H
#define STORE_MIGRATE_H

#include "store_db.h"

/* Parses a migration file name "NNN_name.sql" into its version (> 0). Returns -1 for
 * any other name (which the store ignores). */
long store_migrate_version(const char *filename);

/* Applies the migrations of dir not yet recorded. TR_OK, TR_ERR_UNAVAILABLE (database
 * down: try again), TR_ERR_IO (folder or file unreadable), TR_ERR_DB (a migration
 * failed: nothing of it was applied). db must be connected. */
int store_migrate(store_db *db, const char *dir);

#endif
