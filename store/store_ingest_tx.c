/* store_ingest_tx: the statements of one group-commit batch (see the header). */
#include "store_ingest_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "tr_err.h"
#include "tr_log.h"
#include "store_stmt.h"

/* The multi-row insert: rows whose request id, idempotency key or open dedup key exist
 * already are skipped (resolved afterwards); the 'created' event is written in the
 * same statement. */
const store_stmt store_stmt_insert = {"ingest_insert",
	"WITH src AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::bigint[])"
	" WITH ORDINALITY AS s(request_id, idempotency_key, title, description, source,"
	" service, dedup_key, labels, retry_key, deadline_ms, ord)),"
	" ins AS (INSERT INTO incidents (request_id, idempotency_key, title, description,"
	" source, service, dedup_key, labels, fingerprint)"
	" SELECT request_id, idempotency_key, title, description, source, service, dedup_key,"
	" labels, md5(coalesce('d:' || dedup_key, 't:' || lower(title) || '|' ||"
	" coalesce(service, '') || '|' || coalesce(source, ''))) FROM src"
	/* a resend or retry of a submit that was counted as an occurrence creates nothing;
	 * a NULL key matches nothing, so each NOT EXISTS stands alone (no "key IS NULL OR"):
	 * the planner then makes them anti joins on the indexes, where an OR made them hashed
	 * subplans reading the whole table, dead rows of confirmed retry keys included */
	" WHERE NOT EXISTS (SELECT 1 FROM incident_occurrences o"
	" WHERE o.request_id = src.request_id)"
	" AND NOT EXISTS (SELECT 1 FROM incident_occurrences o"
	" WHERE o.idempotency_key = src.idempotency_key)"
	/* a retry of a submit whose 2xx was never confirmed: its incident (006) */
	" AND NOT EXISTS (SELECT 1 FROM incident_retry_keys r"
	" WHERE r.retry_key = src.retry_key AND r.at > now() - $11 * interval '1 millisecond'"
	" AND coalesce(r.reply_by, r.at) < now())"
	" ORDER BY ord"
	" ON CONFLICT DO NOTHING"
	" RETURNING id, request_id, floor(extract(epoch FROM created_at) * 1000)::bigint AS ms,"
	/* recurrence_of and recurrences_7d (sql/008) read through the row's JSON, so this
	 * statement also runs on a schema from before 008 (as upgrade tests do); only with a
	 * dedup key (008's trigger sets them for those alone): the JSON of the whole row
	 * cost a fifth of the statement */
	" CASE WHEN dedup_key IS NULL THEN '0:0' ELSE"
	" (SELECT coalesce(j->>'recurrence_of', '0') || ':' || coalesce(j->>'recurrences_7d', '0')"
	" FROM (SELECT to_jsonb(incidents) AS j) r) END AS rec),"
	" ev AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor)"
	" SELECT id, 'created', 'submitted', 0, 'api' FROM ins),"
	" rk AS (INSERT INTO incident_retry_keys (request_id, retry_key, incident_id, reply_by)"
	" SELECT ins.request_id, src.retry_key, ins.id, to_timestamp(src.deadline_ms / 1000.0)"
	" FROM ins JOIN src USING (request_id)"
	" WHERE src.retry_key IS NOT NULL AND $11 > 0 ON CONFLICT DO NOTHING)"
	" SELECT request_id, id, ms, rec FROM ins"};

/* What the skipped rows are: a resend, a repeated idempotency key, or a resend of a
 * submit that was counted as an occurrence. $1/$2: request ids and keys. */
const store_stmt store_stmt_known = {"ingest_known",
	"WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS"
	" k(r, ik, rk, ord))"
	" SELECT k.ord, i.id, triage_incident_json(i), 0 AS how FROM k"
	" JOIN incidents i ON i.request_id = k.r"
	" UNION ALL SELECT k.ord, i.id, triage_incident_json(i), 1 FROM k"
	" JOIN incidents i ON i.idempotency_key = k.ik"
	" UNION ALL SELECT k.ord, i.id, triage_incident_json(i), 2 FROM k"
	" JOIN incident_occurrences o ON o.request_id = k.r JOIN incidents i ON i.id ="
	" o.incident_id"
	" UNION ALL SELECT k.ord, i.id, triage_incident_json(i), 3 FROM k"
	" JOIN incident_occurrences o ON o.idempotency_key = k.ik JOIN incidents i ON i.id ="
	" o.incident_id"
	" UNION ALL SELECT k.ord, i.id, triage_incident_json(i), 4 FROM k"
	" JOIN LATERAL (SELECT r.incident_id FROM incident_retry_keys r WHERE r.retry_key = k.rk"
	" AND r.at > now() - $4 * interval '1 millisecond' AND coalesce(r.reply_by, r.at) < now()"
	" ORDER BY r.at DESC LIMIT 1) r ON true"
	" JOIN incidents i ON i.id = r.incident_id"
	" ORDER BY 1, 4"};

/* A retry matched by its retry_key: its own request id settles the key too once
 * confirmed. $1 request ids, $2 retry keys, $3 incident ids. */
static const char store_sql_retry_keys[] =
	"INSERT INTO incident_retry_keys (request_id, retry_key, incident_id)"
	" SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING";

/* The gateway delivered these submits' 2xx: their keys match no retry any more. Every
 * step is an index lookup of an array (the writer's connection reads no table
 * sequentially, store_db.c), and rows another writer is deleting are skipped, not
 * waited for: waiting held this batch until that one's COMMIT (an fsync),
 * and if that one rolls back its rows stay matchable by a retry, the safe side (as for
 * confirmations lost with a submit). */
const store_stmt store_stmt_confirm = {"ingest_confirm",
	"DELETE FROM incident_retry_keys WHERE request_id = ANY (ARRAY(SELECT r.request_id FROM"
	" incident_retry_keys r WHERE r.retry_key = ANY (ARRAY(SELECT k.retry_key FROM"
	" incident_retry_keys k WHERE k.request_id = ANY($1::text[])))"
	" FOR UPDATE SKIP LOCKED))"};

/* Occurrences: $1 dedup keys, $2 how many submits each. */
static const char store_sql_occur[] =
	"WITH d AS (SELECT * FROM unnest($1::text[], $2::int[]) AS d(k, n)),"
	" u AS (UPDATE incidents i SET occurrence_count = i.occurrence_count + d.n,"
	" last_seen_at = now(), updated_at = now(), version = i.version + 1"
	" FROM d WHERE i.dedup_key = d.k AND i.state <> 'resolved'"
	" RETURNING i.dedup_key, d.n, triage_incident_json(i) AS j, i.attempt, "
	"i.id, i.version, i.status, i.state, coalesce(i.severity_override, i.severity, '') AS sev,"
	" coalesce(i.category_override, i.category, '') AS cat),"
	" ev AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'occurrence', status, attempt, 'api', jsonb_build_object('count', n)"
	" FROM u)"
	" SELECT dedup_key, j, id, version, status, state, sev, cat FROM u";

static const char store_sql_occur_keys[] =
	"INSERT INTO incident_occurrences (request_id, idempotency_key, incident_id)"
	" SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING";

/* Sets call i's reply to the incident json (copied) with id. */
static void store_reply_incident(store_batch_run *b, size_t i, const char *id, const char *json,
				 bool created, bool dedup)
{
	store_call *c = b->calls[i];
	char *text;
	if (dedup) {
		/* the incident plus "deduplicated": true */
		size_t len = strlen(json);
		while (len > 0 && json[len - 1] != '}')
			len--;
		text = len > 0 ? malloc(len + 24) : strdup(json);
		if (text && len > 0)
			snprintf(text, len + 24, "%.*s, \"deduplicated\" : true}", (int)(len - 1), json);
	} else {
		text = strdup(json);
	}
	store_call_ok(c, text);
	c->created = created;
	c->incident_id = strtoll(id, NULL, 10);
	b->done[i] = true;
	b->dedup[i] = dedup;
}

static int store_leader_of(const store_batch_run *b, const char *request_id)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->slots[i].kind == STORE_SLOT_INSERT && !b->done[i] &&
		    strcmp(b->subs[i]->request_id, request_id) == 0)
			return (int)i;
	}
	return -1;
}

static int store_step_insert(store_db *db, store_batch_run *b)
{
	store_batch_arrays arr;
	PGresult *res = NULL;
	int rc = TR_ERR_NOMEM;
	if (!store_batch_arrays_build(b->subs, b->n, b->slots, &arr))
		goto out;
	if (arr.rows == 0) {
		rc = TR_OK;
		goto out;
	}
	const char *p[STORE_BATCH_NCOLS + 1];
	char window[24];
	for (int c = 0; c < STORE_BATCH_NCOLS; c++)
		p[c] = arr.col[c].data;
	snprintf(window, sizeof(window), "%ld", b->retry_window_ms);
	p[STORE_BATCH_NCOLS] = window;
	rc = store_db_exec_prepared(db, &store_stmt_insert, STORE_BATCH_NCOLS + 1, p, &res);
	if (rc != TR_OK)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		int i = store_leader_of(b, PQgetvalue(res, r, 0));
		if (i < 0)
			continue;
		store_call *c = b->calls[i];
		c->incident_id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		char *rec_n = NULL;
		int64_t rec = strtoll(PQgetvalue(res, r, 3), &rec_n, 10);
		int64_t recn = rec_n && *rec_n == ':' ? strtoll(rec_n + 1, NULL, 10) : 0;
		store_call_ok(c, store_created_json(b->subs[i], c->incident_id,
						    strtoll(PQgetvalue(res, r, 2), NULL, 10), rec,
						    recn));
		c->created = true;
		b->done[i] = true;
	}
out:
	PQclear(res);
	store_batch_arrays_free(&arr);
	return rc;
}

/* Leaders not inserted: find the incident they already have. */
/* Retries matched by their retry_key: record their request ids under the key. */
static int store_step_retried(store_db *db, store_batch_run *b, const bool *by_retry)
{
	store_buf rq, rk, ids;
	size_t cap = b->n * (2 * PROTO_SHORT_MAX + 8) + 16, m = 0;
	int rc = TR_ERR_NOMEM;
	store_buf_init(&rq, cap);
	store_buf_init(&rk, cap);
	store_buf_init(&ids, cap);
	store_buf_array_open(&rq);
	store_buf_array_open(&rk);
	store_buf_array_open(&ids);
	for (size_t i = 0; i < b->n; i++) {
		char id[24];
		if (!by_retry[i])
			continue;
		snprintf(id, sizeof(id), "%lld", (long long)b->calls[i]->incident_id);
		store_buf_array_item(&rq, b->subs[i]->request_id);
		store_buf_array_item(&rk, b->subs[i]->retry_key);
		store_buf_array_item(&ids, id);
		m++;
	}
	store_buf_array_close(&rq);
	store_buf_array_close(&rk);
	store_buf_array_close(&ids);
	if (m == 0)
		rc = TR_OK;
	else if (!rq.failed && !rk.failed && !ids.failed) {
		const char *p[] = {rq.data, rk.data, ids.data};
		rc = store_db_exec(db, store_sql_retry_keys, 3, p, NULL);
	}
	store_buf_free(&rq);
	store_buf_free(&rk);
	store_buf_free(&ids);
	return rc;
}

static int store_step_known(store_db *db, store_batch_run *b)
{
	store_buf req, key, rk;
	PGresult *res = NULL;
	int *idx = calloc(b->n, sizeof(int));
	bool *by_retry = calloc(b->n, sizeof(bool));
	size_t m = 0;
	char window[24];
	int rc = TR_ERR_NOMEM;
	store_buf_init(&req, b->n * (2 * PROTO_SHORT_MAX + 8) + 16);
	store_buf_init(&key, b->n * (2 * PROTO_SHORT_MAX + 8) + 16);
	store_buf_init(&rk, b->n * (2 * PROTO_SHORT_MAX + 8) + 16);
	if (!idx || !by_retry)
		goto out;
	store_buf_array_open(&req);
	store_buf_array_open(&key);
	store_buf_array_open(&rk);
	for (size_t i = 0; i < b->n; i++) {
		if (b->slots[i].kind != STORE_SLOT_INSERT || b->done[i])
			continue;
		idx[m++] = (int)i;
		store_buf_array_item(&req, b->subs[i]->request_id);
		store_buf_array_item(&key, b->subs[i]->idempotency_key);
		store_buf_array_item(&rk, b->subs[i]->retry_key);
	}
	store_buf_array_close(&req);
	store_buf_array_close(&key);
	store_buf_array_close(&rk);
	rc = TR_OK;
	if (m == 0)
		goto out;
	rc = TR_ERR_NOMEM;
	if (req.failed || key.failed || rk.failed)
		goto out;
	snprintf(window, sizeof(window), "%ld", b->retry_window_ms);
	const char *p[] = {req.data, key.data, rk.data, window};
	rc = store_db_exec_prepared(db, &store_stmt_known, 4, p, &res);
	if (rc != TR_OK)
		goto out;
	bool retried = false;
	for (int r = 0; r < PQntuples(res); r++) {
		long ord = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (ord < 1 || (size_t)ord > m)
			continue;
		size_t i = (size_t)idx[ord - 1];
		if (b->done[i])
			continue; /* a better match came first (ORDER BY how) */
		long how = strtol(PQgetvalue(res, r, 3), NULL, 10);
		store_reply_incident(b, i, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2), false,
				     how == 2 || how == 3);
		by_retry[i] = how == 4;
		retried = retried || how == 4;
	}
	if (retried)
		rc = store_step_retried(db, b, by_retry);
out:
	PQclear(res);
	free(idx);
	free(by_retry);
	store_buf_free(&req);
	store_buf_free(&key);
	store_buf_free(&rk);
	return rc;
}

/* The confirmations the batch's submits carry (proto.h): settle their retry keys. */
static int store_step_confirm(store_db *db, store_batch_run *b)
{
	store_buf ids;
	size_t m = 0;
	int rc = TR_ERR_NOMEM;
	store_buf_init(&ids, b->n * PROTO_CONFIRMS_MAX * (2 * PROTO_SHORT_MAX + 8) + 16);
	store_buf_array_open(&ids);
	for (size_t i = 0; i < b->n; i++) {
		for (size_t j = 0; j < b->subs[i]->nconfirms; j++, m++)
			store_buf_array_item(&ids, b->subs[i]->confirms[j]);
	}
	store_buf_array_close(&ids);
	if (m == 0)
		rc = TR_OK;
	else if (!ids.failed) {
		const char *p[] = {ids.data};
		rc = store_db_exec_prepared(db, &store_stmt_confirm, 1, p, NULL);
	}
	store_buf_free(&ids);
	return rc;
}

/* Whether call i becomes an occurrence of an open incident with its dedup key: a
 * leader that conflicted on the dedup key, or an OCCURRENCE follower. */
static bool store_is_occurrence(const store_batch_run *b, size_t i)
{
	if (b->slots[i].kind == STORE_SLOT_OCCURRENCE)
		return true;
	return b->slots[i].kind == STORE_SLOT_INSERT && !b->done[i] && b->subs[i]->dedup_key;
}

static int store_step_occurrences(store_db *db, store_batch_run *b)
{
	store_buf keys, counts, rq, ik, ids;
	PGresult *res = NULL;
	int rc = TR_ERR_NOMEM;
	size_t cap = b->n * (2 * PROTO_SHORT_MAX + 8) + 16;
	store_buf_init(&keys, cap);
	store_buf_init(&counts, cap);
	store_buf_init(&rq, cap);
	store_buf_init(&ik, cap);
	store_buf_init(&ids, cap);
	store_buf_array_open(&keys);
	store_buf_array_open(&counts);
	size_t nkeys = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (!store_is_occurrence(b, i))
			continue;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = !(store_is_occurrence(b, j) &&
				  strcmp(b->subs[j]->dedup_key, b->subs[i]->dedup_key) == 0);
		if (!first)
			continue;
		int count = 0;
		for (size_t j = i; j < b->n; j++)
			count += store_is_occurrence(b, j) &&
				 strcmp(b->subs[j]->dedup_key, b->subs[i]->dedup_key) == 0;
		char num[16];
		snprintf(num, sizeof(num), "%d", count);
		store_buf_array_item(&keys, b->subs[i]->dedup_key);
		store_buf_array_item(&counts, num);
		nkeys++;
	}
	store_buf_array_close(&keys);
	store_buf_array_close(&counts);
	rc = TR_OK;
	if (nkeys == 0)
		goto out;
	rc = TR_ERR_NOMEM;
	if (keys.failed || counts.failed)
		goto out;
	const char *p[] = {keys.data, counts.data};
	rc = store_db_exec(db, store_sql_occur, 2, p, &res);
	if (rc != TR_OK)
		goto out;
	/* answer each occurrence with its incident; remember the keys it came with */
	for (size_t i = 0; i < b->n; i++)
		b->occurs[i] = store_is_occurrence(b, i);
	store_buf_array_open(&rq);
	store_buf_array_open(&ik);
	store_buf_array_open(&ids);
	for (size_t i = 0; i < b->n; i++) {
		if (!b->occurs[i])
			continue;
		for (int r = 0; r < PQntuples(res); r++) {
			if (strcmp(PQgetvalue(res, r, 0), b->subs[i]->dedup_key) != 0)
				continue;
			store_reply_incident(b, i, PQgetvalue(res, r, 2), PQgetvalue(res, r, 1),
					     false, true);
			store_buf_array_item(&rq, b->subs[i]->request_id);
			store_buf_array_item(&ik, b->subs[i]->idempotency_key);
			store_buf_array_item(&ids, PQgetvalue(res, r, 2));
			break;
		}
	}
	store_buf_array_close(&rq);
	store_buf_array_close(&ik);
	store_buf_array_close(&ids);
	if (rq.failed || ik.failed || ids.failed)
		goto out;
	const char *p2[] = {rq.data, ik.data, ids.data};
	rc = store_db_exec(db, store_sql_occur_keys, 3, p2, NULL);
	if (rc == TR_OK) {
		b->occ = res;
		res = NULL;
	}
out:
	PQclear(res);
	store_buf_free(&keys);
	store_buf_free(&counts);
	store_buf_free(&rq);
	store_buf_free(&ik);
	store_buf_free(&ids);
	return rc;
}

/* One attempt at the batch, always in one explicit transaction: COMMIT is sent only
 * after every statement answered, so a database that hangs or a connection that dies
 * before then leaves nothing behind (an autocommitted insert could still commit after
 * the store has answered 503). */
int store_batch_tx(store_db *db, store_batch_run *b)
{
	int rc = store_db_begin(db);
	if (rc != TR_OK)
		return rc;
	rc = store_step_confirm(db, b);
	if (rc == TR_OK)
		rc = store_step_insert(db, b);
	if (rc == TR_OK)
		rc = store_step_known(db, b);
	if (rc == TR_OK)
		rc = store_step_occurrences(db, b);
	if (rc == TR_OK)
		rc = store_db_commit(db);
	else
		store_db_rollback(db);
	return rc;
}

void store_batch_reset(store_batch_run *b)
{
	for (size_t i = 0; i < b->n; i++) {
		b->done[i] = false;
		b->dedup[i] = false;
		free(b->calls[i]->json);
		b->calls[i]->json = NULL;
		b->calls[i]->created = false;
		b->calls[i]->code = TR_OK;
	}
	PQclear(b->occ);
	b->occ = NULL;
}
