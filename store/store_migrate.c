/* store_migrate: schema migrations, applied once each, in order, in transactions. */
#include "store_migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tr_err.h"
#include "tr_log.h"

#define STORE_MIGRATE_LOCK "7283741"        /* pg_advisory_lock key: "triage migrate" */
#define STORE_MIGRATE_MAX_FILES 1000
#define STORE_MIGRATE_MAX_BYTES (4L * 1024 * 1024)

typedef struct {
	long version;
	char name[256];
} store_migration;

long store_migrate_version(const char *filename)
{
	size_t n = strlen(filename);
	size_t digits = 0;
	while (isdigit((unsigned char)filename[digits]))
		digits++;
	if (digits == 0 || digits > 9 || filename[digits] != '_' || n < digits + 5 ||
	    strcmp(filename + n - 4, ".sql") != 0 || n - 4 == digits + 1)
		return -1;
	long v = strtol(filename, NULL, 10);
	return v > 0 ? v : -1;
}

static int store_migration_cmp(const void *a, const void *b)
{
	const store_migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

static char *store_read_file(const char *path)
{
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size > STORE_MIGRATE_MAX_BYTES)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[st.st_size] = '\0';
out:
	fclose(f);
	return buf;
}

/* Lists the migrations of dir, sorted; rejects two files with the same number. */
static int store_list_migrations(const char *dir, store_migration **out, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		tr_error("migrations: cannot open folder %s", dir);
		return TR_ERR_IO;
	}
	int rc = TR_ERR_NOMEM;
	store_migration *list = calloc(STORE_MIGRATE_MAX_FILES, sizeof(*list));
	size_t n = 0;
	struct dirent *e;
	if (!list)
		goto out;
	while ((e = readdir(d)) != NULL) {
		long v = store_migrate_version(e->d_name);
		if (v < 0 || strlen(e->d_name) >= sizeof(list[0].name))
			continue;
		if (n == STORE_MIGRATE_MAX_FILES) {
			tr_error("migrations: more than %d files in %s", STORE_MIGRATE_MAX_FILES, dir);
			rc = TR_ERR_IO;
			goto out;
		}
		list[n].version = v;
		snprintf(list[n].name, sizeof(list[n].name), "%s", e->d_name);
		n++;
	}
	qsort(list, n, sizeof(*list), store_migration_cmp);
	for (size_t i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			tr_error("migrations: %s and %s have the same number", list[i - 1].name,
				 list[i].name);
			rc = TR_ERR_IO;
			goto out;
		}
	}
	*out = list;
	*count = n;
	list = NULL;
	rc = TR_OK;
out:
	free(list);
	closedir(d);
	return rc;
}

static int store_apply_one(store_db *db, const char *dir, const store_migration *m)
{
	char path[4096];
	char version[32];
	PGresult *res = NULL;
	char *sql = NULL;
	int rc = store_db_begin(db);
	if (rc != TR_OK)
		return rc;
	snprintf(version, sizeof(version), "%ld", m->version);
	const char *p[] = {version};
	rc = store_db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p, &res);
	if (rc != TR_OK)
		goto out;
	if (PQntuples(res) > 0)
		goto out; /* applied already */
	snprintf(path, sizeof(path), "%s/%s", dir, m->name);
	sql = store_read_file(path);
	if (!sql) {
		tr_error("migrations: cannot read %s", path);
		rc = TR_ERR_IO;
		goto out;
	}
	rc = store_db_script(db, sql);
	if (rc != TR_OK) {
		tr_error("migrations: %s failed: %s", m->name, store_db_errmsg(db));
		goto out;
	}
	const char *p2[] = {version, m->name};
	rc = store_db_exec(db, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
			   p2, NULL);
	if (rc == TR_OK)
		tr_info("migrations: applied %s", m->name);
out:
	PQclear(res);
	free(sql);
	if (rc == TR_OK)
		rc = store_db_commit(db);
	else
		store_db_rollback(db);
	return rc;
}

int store_migrate(store_db *db, const char *dir)
{
	store_migration *list = NULL;
	size_t n = 0;
	int rc = store_list_migrations(dir, &list, &n);
	if (rc != TR_OK)
		return rc;
	rc = store_db_exec(db, "SELECT pg_advisory_lock(" STORE_MIGRATE_LOCK ")", 0, NULL, NULL);
	if (rc != TR_OK)
		goto out;
	rc = store_db_exec(db,
			   "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " version integer PRIMARY KEY, name text NOT NULL,"
			   " applied_at timestamptz NOT NULL DEFAULT now())",
			   0, NULL, NULL);
	for (size_t i = 0; rc == TR_OK && i < n; i++)
		rc = store_apply_one(db, dir, &list[i]);
	if (store_db_connected(db))
		(void)store_db_exec(db, "SELECT pg_advisory_unlock(" STORE_MIGRATE_LOCK ")", 0, NULL,
				    NULL);
out:
	free(list);
	return rc;
}
