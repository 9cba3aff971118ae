/* store_db: a PGconn per thread with reconnect, statement deadlines (non-blocking libpq
 * and poll), and the mapping of libpq/SQLSTATE errors into tr_err. */
#include "store_db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"
#include "store_stmt.h"

#define STORE_DB_BACKOFF_MIN_MS 100
#define STORE_DB_BACKOFF_MAX_MS 2000

struct store_db {
	char *url;
	char role[32];
	long timeout_ms;
	store_db_durability durability;
	bool ingest;
	PGconn *conn;
	int64_t next_try_ms;  /* monotonic: no reconnect before this */
	long backoff_ms;
	bool was_up;          /* for logging transitions once */
	bool prepared[STORE_STMT_MAX]; /* by store_stmt_index(): prepared on this connection */
	char sqlstate[6];
	char errmsg[256];
	int64_t deadline_ms; /* monotonic cap (0 = none), see store_db_set_deadline */
	long margin_ms;
	bool committing;
};

void store_db_set_deadline(store_db *db, int64_t deadline_ms, long margin_ms)
{
	db->deadline_ms = deadline_ms;
	db->margin_ms = margin_ms;
}

/* The deadline of a statement sent now. */
static int64_t store_db_deadline(const store_db *db)
{
	int64_t d = tr_mono_ms() + db->timeout_ms;
	if (db->deadline_ms > 0) {
		int64_t cap = db->committing ? db->deadline_ms : db->deadline_ms - db->margin_ms;
		if (cap < d)
			d = cap;
	}
	return d;
}

static void store_db_notice(void *arg, const char *message)
{
	const store_db *db = arg;
	tr_debug("db[%s] notice: %.200s", db->role, message);
}

store_db *store_db_new(const char *url, long timeout_ms, const char *role,
		       store_db_durability durability)
{
	store_db *db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	db->url = strdup(url);
	if (!db->url) {
		free(db);
		return NULL;
	}
	snprintf(db->role, sizeof(db->role), "%s", role);
	db->timeout_ms = timeout_ms;
	db->durability = durability;
	db->backoff_ms = STORE_DB_BACKOFF_MIN_MS;
	return db;
}

void store_db_set_ingest(store_db *db)
{
	db->ingest = true;
}

void store_db_free(store_db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->url);
	free(db);
}

void store_db_reset(store_db *db)
{
	if (db->conn) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	memset(db->prepared, 0, sizeof db->prepared); /* they die with their connection */
}

bool store_db_connected(const store_db *db)
{
	return db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 timeout. */
static int store_db_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - tr_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return 1; /* let libpq report the error */
	}
}

static void store_db_set_err(store_db *db, const char *state, const char *msg)
{
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	/* libpq messages end with a newline */
	size_t n = strlen(db->errmsg);
	while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == '\r'))
		db->errmsg[--n] = '\0';
}

static int store_db_connect(store_db *db)
{
	/* client_connection_check_interval: a statement we gave up on (deadline, timeout)
	 * is cancelled by the server too, even while it waits for a lock; else an
	 * autocommitted action could still happen after the 503. jit=off: every statement
	 * here is short; JIT compiling one (as PostgreSQL 15 does past jit_above_cost, e.g.
	 * similar incidents for a batch at 1M rows) costs hundreds of milliseconds.
	 * An ingest connection (store_db_set_ingest): rows it inserts wait for their search
	 * data (triage.defer_search, sql/017), and every statement reads through an index:
	 * incident_retry_keys churns (a row per submit, deleted at its confirmation), so its
	 * statistics say "tiny" while dead rows pile up until a vacuum, and the sequential
	 * scans the planner then chose read them all, several times per batch.
	 * Cached plans (ours and PostgreSQL's own, such as its foreign-key checks) follow
	 * the table's growth through store_analyze.c. */
	char options[256];
	snprintf(options, sizeof(options),
		 "-c synchronous_commit=%s -c statement_timeout=%ld"
		 " -c client_connection_check_interval=100 -c jit=off%s",
		 db->durability == STORE_DB_LAZY ? "off" : "on", db->timeout_ms,
		 db->ingest ? " -c triage.defer_search=on -c enable_seqscan=off" : "");
	const char *keys[] = {"application_name", "options", "dbname", NULL};
	const char *vals[] = {"triage-store", options, db->url, NULL};
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	int rc = TR_ERR_UNAVAILABLE;
	if (!c)
		return TR_ERR_NOMEM;
	int64_t deadline = tr_mono_ms() + (db->timeout_ms < 5000 ? db->timeout_ms : 5000);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (PQstatus(c) != CONNECTION_BAD) {
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED)
			break;
		short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (!store_db_wait(PQsocket(c), ev, deadline)) {
			store_db_set_err(db, "08000", "connection timed out");
			goto out;
		}
		st = PQconnectPoll(c);
	}
	if (st != PGRES_POLLING_OK || PQstatus(c) != CONNECTION_OK) {
		store_db_set_err(db, "08000", PQerrorMessage(c));
		goto out;
	}
	if (PQsetnonblocking(c, 1) != 0) {
		store_db_set_err(db, "08000", PQerrorMessage(c));
		goto out;
	}
	PQsetNoticeProcessor(c, store_db_notice, db);
	db->conn = c;
	c = NULL;
	rc = TR_OK;
out:
	if (c)
		PQfinish(c);
	return rc;
}

int store_db_ensure(store_db *db)
{
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		return TR_OK;
	store_db_reset(db);
	int64_t now = tr_mono_ms();
	if (now < db->next_try_ms)
		return TR_ERR_UNAVAILABLE;
	int rc = store_db_connect(db);
	if (rc == TR_OK) {
		if (!db->was_up)
			tr_info("db[%s] connected", db->role);
		db->was_up = true;
		db->backoff_ms = STORE_DB_BACKOFF_MIN_MS;
		db->next_try_ms = 0;
		return TR_OK;
	}
	if (db->was_up || db->backoff_ms == STORE_DB_BACKOFF_MIN_MS)
		tr_warn("db[%s] cannot connect: %s", db->role, db->errmsg);
	db->was_up = false;
	db->next_try_ms = tr_mono_ms() + db->backoff_ms;
	db->backoff_ms *= 2;
	if (db->backoff_ms > STORE_DB_BACKOFF_MAX_MS)
		db->backoff_ms = STORE_DB_BACKOFF_MAX_MS;
	return TR_ERR_UNAVAILABLE;
}

/* Maps a failed result to tr_err. */
static int store_db_map(store_db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
	store_db_set_err(db, state ? state : "08000", msg);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK || !state)
		return TR_ERR_UNAVAILABLE;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return TR_ERR_UNAVAILABLE; /* connection, shutdown/cancel/timeout, resources */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return TR_ERR_CONFLICT;
	return TR_ERR_DB;
}

/* Sends nothing; waits for the query already sent, within the deadline. */
static int store_db_finish(store_db *db, int64_t deadline, PGresult **out)
{
	int rc = TR_OK;
	PGresult *last = NULL;
	int fd = PQsocket(db->conn);
	int flushed;
	while ((flushed = PQflush(db->conn)) == 1) {
		if (!store_db_wait(fd, POLLOUT | POLLIN, deadline))
			goto timeout;
		if (!PQconsumeInput(db->conn))
			goto lost;
	}
	if (flushed < 0)
		goto lost;
	for (;;) {
		while (PQisBusy(db->conn)) {
			if (!store_db_wait(fd, POLLIN, deadline))
				goto timeout;
			if (!PQconsumeInput(db->conn))
				goto lost;
		}
		PGresult *r = PQgetResult(db->conn);
		if (!r)
			break;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
		    st == PGRES_NONFATAL_ERROR) {
			if (rc == TR_OK)
				rc = store_db_map(db, r);
			PQclear(r);
			continue;
		}
		PQclear(last);
		last = r;
	}
	if (rc == TR_OK && PQstatus(db->conn) != CONNECTION_OK)
		rc = store_db_map(db, NULL);
	if (rc != TR_OK)
		goto fail;
	if (out)
		*out = last;
	else
		PQclear(last);
	return TR_OK;
timeout:
	store_db_set_err(db, "57014", db->deadline_ms && tr_mono_ms() >= db->deadline_ms -
						   db->margin_ms
					      ? "no answer before the caller's deadline"
					      : "no answer within the database timeout");
	rc = TR_ERR_UNAVAILABLE;
	store_db_reset(db); /* the server rolls back what this connection had open */
	goto fail;
lost:
	rc = store_db_map(db, NULL);
	goto fail;
fail:
	PQclear(last);
	if (rc == TR_ERR_UNAVAILABLE && db->conn && PQstatus(db->conn) != CONNECTION_OK)
		store_db_reset(db);
	if (rc == TR_ERR_UNAVAILABLE)
		tr_warn("db[%s] unavailable: %s", db->role, db->errmsg);
	else
		tr_warn("db[%s] statement failed (%s): %s", db->role, db->sqlstate, db->errmsg);
	return rc;
}

/* An idle connection the server has closed (restart, admin shutdown) is noticed only
 * when read: look before sending, and reconnect, so the first statement after a
 * PostgreSQL restart does not fail for nothing. Only outside a transaction. */
static void store_db_check_idle(store_db *db)
{
	if (!db->conn || PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		return;
	struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return;
	/* nothing is due on an idle connection of ours (no LISTEN): what came is the
	 * server's goodbye (FATAL, then EOF) */
	tr_info("db[%s] connection closed by the server; reconnecting", db->role);
	store_db_reset(db);
	db->next_try_ms = 0;
	(void)store_db_ensure(db);
}

/* A statement could not be sent: the error recorded, and the connection dropped when it
 * is gone (the next call reconnects). */
static int store_db_unsent(store_db *db)
{
	int rc = store_db_map(db, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK)
		store_db_reset(db);
	return rc == TR_OK ? TR_ERR_UNAVAILABLE : rc;
}

int store_db_exec(store_db *db, const char *sql, int nparams, const char *const *params,
		  PGresult **out)
{
	store_db_check_idle(db);
	if (!db->conn) {
		store_db_set_err(db, "08003", "not connected");
		return TR_ERR_UNAVAILABLE;
	}
	int64_t deadline = store_db_deadline(db);
	if (!PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
		int rc = store_db_unsent(db);
		tr_warn("db[%s] cannot send: %s", db->role, db->errmsg);
		return rc;
	}
	return store_db_finish(db, deadline, out);
}

int store_db_exec_prepared(store_db *db, const store_stmt *st, int nparams,
			   const char *const *params, PGresult **out)
{
	int idx = store_stmt_index(st);
	if (idx < 0 || idx >= STORE_STMT_MAX) {
		tr_error("db: statement %s is not in store_stmts[]", st->name);
		store_db_set_err(db, "XX000", "unlisted prepared statement");
		return TR_ERR_INTERNAL;
	}
	store_db_check_idle(db);
	if (!db->conn) {
		store_db_set_err(db, "08003", "not connected");
		return TR_ERR_UNAVAILABLE;
	}
	int64_t deadline = store_db_deadline(db);
	if (!db->prepared[idx]) {
		if (!PQsendPrepare(db->conn, st->name, st->sql, nparams, NULL))
			return store_db_unsent(db);
		int rc = store_db_finish(db, deadline, NULL);
		if (rc != TR_OK)
			return rc;
		db->prepared[idx] = true;
	}
	if (!PQsendQueryPrepared(db->conn, st->name, nparams, params, NULL, NULL, 0))
		return store_db_unsent(db);
	return store_db_finish(db, deadline, out);
}

int store_db_script(store_db *db, const char *sql)
{
	if (!db->conn) {
		store_db_set_err(db, "08003", "not connected");
		return TR_ERR_UNAVAILABLE;
	}
	int64_t deadline = tr_mono_ms() + db->timeout_ms;
	if (!PQsendQuery(db->conn, sql))
		return store_db_unsent(db);
	return store_db_finish(db, deadline, NULL);
}

int store_db_begin(store_db *db)
{
	return store_db_exec(db, "BEGIN", 0, NULL, NULL);
}

int store_db_commit(store_db *db)
{
	PGresult *res = NULL;
	if (db->deadline_ms > 0 && tr_mono_ms() > db->deadline_ms - db->margin_ms) {
		store_db_rollback(db);
		store_db_set_err(db, "57014", "too late to commit before the caller's deadline");
		tr_warn("db[%s] %s: rolled back", db->role, db->errmsg);
		return TR_ERR_UNAVAILABLE;
	}
	db->committing = true;
	int rc = store_db_exec(db, "COMMIT", 0, NULL, &res);
	db->committing = false;
	/* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK */
	if (rc == TR_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		store_db_set_err(db, "25P02", "the transaction was rolled back");
		rc = TR_ERR_DB;
	}
	PQclear(res);
	return rc;
}

void store_db_rollback(store_db *db)
{
	int64_t cap = db->deadline_ms; /* a rollback is never too late */
	db->deadline_ms = 0;
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)store_db_exec(db, "ROLLBACK", 0, NULL, NULL);
	db->deadline_ms = cap;
}

const char *store_db_sqlstate(const store_db *db)
{
	return db->sqlstate;
}

const char *store_db_errmsg(const store_db *db)
{
	return db->errmsg;
}
