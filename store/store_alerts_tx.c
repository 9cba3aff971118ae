/* store_alerts_tx: one group-commit transaction of alert deliveries: replayed
 * deliveries, events coalesced per fingerprint, triage_alerts_apply, replies, events. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_alerts.h"
#include "store_json.h"
#include "tr_err.h"
#include "tr_log.h"

#define STORE_ALERTS_RETRIES 3

typedef enum { AL_FRESH = 0, AL_INVALID, AL_REPLAY, AL_FOLLOWER } alert_state;

typedef struct {
	const char *fp;
	const char *action;
	json_t *ev;  /* borrowed from its call's array */
	size_t call; /* index of its delivery */
	size_t seq;  /* order over the whole batch */
	size_t op;   /* the coalesced operation it belongs to */
	bool first;  /* first event of that operation */
} alert_ev;

typedef struct {
	store_call **calls;
	size_t n;
	json_t **arrays;    /* parsed events per call */
	alert_state *state;
	size_t *leader;     /* AL_FOLLOWER: the call with the same delivery key */
	alert_ev *evs;
	size_t nev;
	json_t *results;    /* triage_alerts_apply's answer, one per operation */
} alert_batch;

/* Every statement on integration_deliveries goes through its primary key (ON CONFLICT,
 * = ANY): a join against unnest() may be planned as a hash join over the whole table. */
static const char store_sql_claim[] =
	"INSERT INTO integration_deliveries AS d (delivery_key, expires_at)"
	" SELECT key, now() + ttl * interval '1 millisecond'"
	" FROM unnest($1::text[], $2::bigint[]) AS k(key, ttl)"
	" ON CONFLICT (delivery_key) DO UPDATE SET expires_at = excluded.expires_at, reply = ''"
	" WHERE d.expires_at < now() RETURNING delivery_key";

static const char store_sql_replies[] =
	"SELECT delivery_key, reply FROM integration_deliveries WHERE delivery_key = ANY($1::text[])";

static const char store_sql_apply[] = "SELECT triage_alerts_apply($1::jsonb)";

static const char store_sql_record[] =
	"WITH r AS (INSERT INTO integration_deliveries AS d (delivery_key, reply, expires_at)"
	" SELECT key, reply, now() FROM unnest($1::text[], $2::text[]) AS u(key, reply)"
	" ON CONFLICT (delivery_key) DO UPDATE SET reply = excluded.reply)"
	" INSERT INTO integration_sources AS s (source, last_at, last_events, last_summary,"
	" deliveries, events)"
	" SELECT src, now(), last_n, last_sum::jsonb, nd, ne"
	" FROM unnest($3::text[], $4::int[], $5::text[], $6::bigint[], $7::bigint[])"
	" AS x(src, last_n, last_sum, nd, ne)"
	" ON CONFLICT (source) DO UPDATE SET last_at = now(), last_events = excluded.last_events,"
	" last_summary = excluded.last_summary, deliveries = s.deliveries + excluded.deliveries,"
	" events = s.events + excluded.events";

/* Parses call i's events; false (with the reply set) when they are malformed. */
static bool alert_parse(alert_batch *b, size_t i)
{
	const proto_alerts *m = &b->calls[i]->req.u.alerts;
	json_error_t jerr;
	json_t *arr = json_loads(m->events, JSON_REJECT_DUPLICATES, &jerr);
	const char *why = NULL;
	size_t k;
	json_t *ev;
	if (!arr || !json_is_array(arr) || json_array_size(arr) == 0)
		why = "events: not a non-empty JSON array";
	json_array_foreach(arr, k, ev) {
		const char *a = json_string_value(json_object_get(ev, "a"));
		const char *fp = json_string_value(json_object_get(ev, "fp"));
		if (why)
			break;
		if (!a || (strcmp(a, "trigger") && strcmp(a, "acknowledge") && strcmp(a, "resolve")))
			why = "events: an action is not trigger|acknowledge|resolve";
		else if (!fp || !*fp || strlen(fp) > PROTO_SHORT_MAX)
			why = "events: a fingerprint is not 1-255 bytes";
		else if (!strcmp(a, "trigger") && !json_is_string(json_object_get(ev, "title")))
			why = "events: a trigger has no title";
	}
	if (why) {
		json_decref(arr);
		store_call_fail(b->calls[i], TR_ERR_INVALID, why);
		return false;
	}
	b->arrays[i] = arr;
	return true;
}

static int alert_ev_cmp(const void *x, const void *y)
{
	const alert_ev *a = x, *b = y;
	int c = strcmp(a->fp, b->fp);
	if (c)
		return c;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Claims the delivery keys of fresh calls; answers replays with their first answer. */
static int alert_step_deliveries(store_db *db, alert_batch *b)
{
	store_buf keys, ttls;
	PGresult *res = NULL, *res2 = NULL;
	int rc = TR_ERR_NOMEM;
	size_t m = 0;
	store_buf_init(&keys, b->n * (2 * PROTO_SHORT_MAX + 8) + 16);
	store_buf_init(&ttls, b->n * 24 + 16);
	store_buf_array_open(&keys);
	store_buf_array_open(&ttls);
	for (size_t i = 0; i < b->n; i++) {
		const proto_alerts *a = &b->calls[i]->req.u.alerts;
		if (b->state[i] != AL_FRESH || !a->delivery_key)
			continue;
		for (size_t j = 0; j < i; j++) {
			const char *k = b->calls[j]->req.u.alerts.delivery_key;
			if (b->state[j] == AL_FRESH && k && !strcmp(k, a->delivery_key)) {
				b->state[i] = AL_FOLLOWER;
				b->leader[i] = j;
				break;
			}
		}
		if (b->state[i] != AL_FRESH)
			continue;
		char ttl[24];
		snprintf(ttl, sizeof(ttl), "%lld", (long long)a->delivery_ttl_ms);
		store_buf_array_item(&keys, a->delivery_key);
		store_buf_array_item(&ttls, ttl);
		m++;
	}
	store_buf_array_close(&keys);
	store_buf_array_close(&ttls);
	if (keys.failed || ttls.failed)
		goto out;
	rc = TR_OK;
	if (m == 0)
		goto out;
	const char *p[] = {keys.data, ttls.data};
	rc = store_db_exec_prepared(db, store_sql_claim, store_sql_claim, 2, p, &res);
	if (rc != TR_OK || (size_t)PQntuples(res) == m)
		goto out;
	const char *p2[] = {keys.data};
	rc = store_db_exec_prepared(db, store_sql_replies, store_sql_replies, 1, p2, &res2);
	if (rc != TR_OK)
		goto out;
	for (size_t i = 0; i < b->n; i++) {
		const char *k = b->calls[i]->req.u.alerts.delivery_key;
		bool claimed = false;
		if (b->state[i] != AL_FRESH || !k)
			continue;
		for (int r = 0; r < PQntuples(res) && !claimed; r++)
			claimed = !strcmp(PQgetvalue(res, r, 0), k);
		for (int r = 0; r < PQntuples(res2) && !claimed; r++) {
			if (strcmp(PQgetvalue(res2, r, 0), k) != 0)
				continue;
			store_call_ok(b->calls[i], strdup(PQgetvalue(res2, r, 1)));
			b->state[i] = AL_REPLAY;
			break;
		}
	}
out:
	PQclear(res);
	PQclear(res2);
	store_buf_free(&keys);
	store_buf_free(&ttls);
	return rc;
}

/* Sorts the fresh calls' events by fingerprint (keeping their order within one) and
 * coalesces each run of triggers into one operation. Returns the operations, or NULL
 * when out of memory. Sorting also fixes the order in which rows are locked, so two
 * transactions cannot deadlock on them. */
static json_t *alert_coalesce(alert_batch *b)
{
	size_t total = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->state[i] == AL_FRESH)
			total += json_array_size(b->arrays[i]);
	b->evs = calloc(total ? total : 1, sizeof(*b->evs));
	json_t *ops = json_array();
	if (!b->evs || !ops) {
		json_decref(ops);
		return NULL;
	}
	b->nev = 0;
	for (size_t i = 0; i < b->n; i++) {
		size_t k;
		json_t *ev;
		if (b->state[i] != AL_FRESH)
			continue;
		json_array_foreach(b->arrays[i], k, ev) {
			alert_ev *e = &b->evs[b->nev];
			e->ev = ev;
			e->fp = json_string_value(json_object_get(ev, "fp"));
			e->action = json_string_value(json_object_get(ev, "a"));
			e->call = i;
			e->seq = b->nev++;
		}
	}
	qsort(b->evs, b->nev, sizeof(*b->evs), alert_ev_cmp);
	json_t *cur = NULL;
	for (size_t k = 0; k < b->nev; k++) {
		alert_ev *e = &b->evs[k];
		const alert_ev *prev = k ? &b->evs[k - 1] : NULL;
		if (cur && prev && !strcmp(prev->fp, e->fp) && !strcmp(e->action, "trigger") &&
		    !strcmp(prev->action, "trigger")) {
			json_int_t n = json_integer_value(json_object_get(cur, "n"));
			json_object_set_new(cur, "n", json_integer(n + 1));
			e->op = json_array_size(ops) - 1;
			continue;
		}
		const proto_alerts *m = &b->calls[e->call]->req.u.alerts;
		char rid[PROTO_SHORT_MAX + 32];
		snprintf(rid, sizeof(rid), "%s:%zu", m->request_id, e->seq);
		cur = json_copy(e->ev);
		if (!cur || json_object_set_new(cur, "n", json_integer(1)) ||
		    json_object_set_new(cur, "src", json_string(m->source)) ||
		    json_object_set_new(cur, "rid", json_string(rid)) || json_array_append_new(ops, cur)) {
			json_decref(ops);
			return NULL;
		}
		e->op = json_array_size(ops) - 1;
		e->first = true;
	}
	return ops;
}

/* The reply of fresh call i from the operations' results; counts into sum[5]. */
static char *alert_reply(alert_batch *b, size_t i, long sum[5])
{
	static const char *const kinds[] = {"created", "occurrence", "acknowledged", "resolved",
					    "ignored"};
	const proto_alerts *m = &b->calls[i]->req.u.alerts;
	json_t *list = json_array();
	json_t *body = NULL;
	const char *last_fp = NULL;
	json_int_t last_id = 0;
	/* events in their delivery order: evs is sorted, so walk by seq */
	size_t *order = calloc(b->nev ? b->nev : 1, sizeof(size_t));
	if (!order || !list)
		goto out;
	for (size_t k = 0; k < b->nev; k++)
		order[b->evs[k].seq] = k;
	for (size_t s = 0; s < b->nev; s++) {
		const alert_ev *e = &b->evs[order[s]];
		if (e->call != i)
			continue;
		json_t *r = json_array_get(b->results, e->op);
		const char *what = json_string_value(json_object_get(r, "r"));
		json_t *id = json_object_get(r, "id");
		if (!what)
			what = "ignored";
		if (!e->first && (!strcmp(what, "created") || !strcmp(what, "occurrence")))
			what = "occurrence";
		for (int k = 0; k < 5; k++)
			sum[k] += !strcmp(what, kinds[k]);
		json_array_append_new(list, json_pack("{s:s, s:O?, s:s}", "fingerprint", e->fp,
						      "incident_id", json_is_integer(id) ? id : NULL,
						      "result", what));
		last_fp = e->fp;
		last_id = json_integer_value(id);
	}
	if (!strcmp(m->source, "pagerduty")) {
		body = json_pack("{s:s, s:s, s:s?}", "status", "success", "message",
				 "Event processed", "dedup_key", last_fp);
		if (body && last_id > 0)
			json_object_set_new(body, "incident_id", json_integer(last_id));
	} else {
		body = json_pack("{s:s, s:I, s:O}", "status", "success", "events",
				 (json_int_t)json_array_size(list), "results", list);
	}
	b->calls[i]->incident_id = last_id;
out:
	free(order);
	json_decref(list);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return text;
}

/* Applies the operations, answers the fresh calls and followers, records the replies
 * of the delivery keys and the last event per source. */
static int alert_step_apply(store_db *db, alert_batch *b)
{
	PGresult *res = NULL;
	char *ops_text = NULL;
	int rc = TR_ERR_NOMEM;
	store_buf keys, replies, srcs, lastn, lastsum, nd, ne;
	size_t cap = 64 * 1024 * 1024;
	store_buf_init(&keys, cap);
	store_buf_init(&replies, cap);
	store_buf_init(&srcs, 4096);
	store_buf_init(&lastn, 4096);
	store_buf_init(&lastsum, 4096);
	store_buf_init(&nd, 4096);
	store_buf_init(&ne, 4096);
	json_t *ops = alert_coalesce(b);
	if (!ops)
		goto out;
	rc = TR_OK;
	if (json_array_size(ops) == 0)
		goto out; /* every call was a replay */
	rc = TR_ERR_NOMEM;
	ops_text = json_dumps(ops, JSON_COMPACT);
	if (!ops_text)
		goto out;
	const char *p[] = {ops_text};
	rc = store_db_exec_prepared(db, store_sql_apply, store_sql_apply, 1, p, &res);
	if (rc != TR_OK)
		goto out;
	rc = TR_ERR_INTERNAL;
	b->results = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!json_is_array(b->results) || json_array_size(b->results) != json_array_size(ops))
		goto out;
	store_buf_array_open(&keys);
	store_buf_array_open(&replies);
	store_buf_array_open(&srcs);
	store_buf_array_open(&lastn);
	store_buf_array_open(&lastsum);
	store_buf_array_open(&nd);
	store_buf_array_open(&ne);
	static const char *const sources[] = {"alertmanager", "grafana", "pagerduty", NULL};
	for (size_t s = 0; sources[s]; s++) {
		long sum[5] = {0}, last[5] = {0}, deliveries = 0, events = 0, last_events = 0;
		for (size_t i = 0; i < b->n; i++) {
			const proto_alerts *m = &b->calls[i]->req.u.alerts;
			if (b->state[i] != AL_FRESH || strcmp(m->source, sources[s]) != 0)
				continue;
			memset(sum, 0, sizeof(sum));
			char *text = alert_reply(b, i, sum);
			if (!text) {
				rc = TR_ERR_NOMEM;
				goto out;
			}
			store_call_ok(b->calls[i], text);
			if (m->delivery_key) {
				store_buf_array_item(&keys, m->delivery_key);
				store_buf_array_item(&replies, text);
			}
			deliveries++;
			last_events = (long)json_array_size(b->arrays[i]);
			events += last_events;
			memcpy(last, sum, sizeof(last));
		}
		if (!deliveries)
			continue;
		char num[3][24], summary[200];
		snprintf(num[0], sizeof(num[0]), "%ld", last_events);
		snprintf(num[1], sizeof(num[1]), "%ld", deliveries);
		snprintf(num[2], sizeof(num[2]), "%ld", events);
		snprintf(summary, sizeof(summary),
			 "{\"created\":%ld,\"occurrence\":%ld,\"acknowledged\":%ld,"
			 "\"resolved\":%ld,\"ignored\":%ld}",
			 last[0], last[1], last[2], last[3], last[4]);
		store_buf_array_item(&srcs, sources[s]);
		store_buf_array_item(&lastn, num[0]);
		store_buf_array_item(&lastsum, summary);
		store_buf_array_item(&nd, num[1]);
		store_buf_array_item(&ne, num[2]);
	}
	store_buf_array_close(&keys);
	store_buf_array_close(&replies);
	store_buf_array_close(&srcs);
	store_buf_array_close(&lastn);
	store_buf_array_close(&lastsum);
	store_buf_array_close(&nd);
	store_buf_array_close(&ne);
	rc = TR_ERR_NOMEM;
	if (keys.failed || replies.failed || srcs.failed || lastn.failed || lastsum.failed ||
	    nd.failed || ne.failed)
		goto out;
	const char *p2[] = {keys.data, replies.data, srcs.data, lastn.data,
			    lastsum.data, nd.data, ne.data};
	rc = store_db_exec_prepared(db, store_sql_record, store_sql_record, 7, p2, NULL);
out:
	json_decref(ops);
	free(ops_text);
	PQclear(res);
	store_buf_free(&keys);
	store_buf_free(&replies);
	store_buf_free(&srcs);
	store_buf_free(&lastn);
	store_buf_free(&lastsum);
	store_buf_free(&nd);
	store_buf_free(&ne);
	return rc;
}

static void alert_reset(alert_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->state[i] == AL_INVALID)
			continue;
		b->state[i] = AL_FRESH;
		free(b->calls[i]->json);
		b->calls[i]->json = NULL;
		b->calls[i]->code = TR_OK;
		b->calls[i]->incident_id = 0;
	}
	free(b->evs);
	b->evs = NULL;
	b->nev = 0;
	json_decref(b->results);
	b->results = NULL;
}

static int alert_tx(store_db *db, alert_batch *b)
{
	int rc = store_db_begin(db);
	if (rc != TR_OK)
		return rc;
	rc = alert_step_deliveries(db, b);
	if (rc == TR_OK)
		rc = alert_step_apply(db, b);
	if (rc == TR_OK)
		rc = store_db_commit(db);
	else
		store_db_rollback(db);
	return rc;
}

static void alert_publish(alert_batch *b, store_events *events, store_dispatch *dispatch)
{
	size_t k;
	json_t *r;
	bool created = false;
	json_array_foreach(b->results, k, r) {
		const char *what = json_string_value(json_object_get(r, "r"));
		if (!what || !strcmp(what, "ignored"))
			continue;
		created |= !strcmp(what, "created");
		store_events_publish(events, json_integer_value(json_object_get(r, "id")),
				     json_integer_value(json_object_get(r, "v")), what,
				     json_string_value(json_object_get(r, "status")),
				     json_string_value(json_object_get(r, "state")),
				     json_string_value(json_object_get(r, "sev")),
				     json_string_value(json_object_get(r, "cat")));
	}
	if (created)
		store_dispatch_wake(dispatch);
}

void store_alerts_run(store_db *db, store_events *events, store_dispatch *dispatch,
		      store_call **calls, size_t n)
{
	alert_batch b = {.calls = calls, .n = n};
	size_t valid = 0;
	int rc = TR_ERR_NOMEM;
	b.arrays = calloc(n, sizeof(*b.arrays));
	b.state = calloc(n, sizeof(*b.state));
	b.leader = calloc(n, sizeof(*b.leader));
	if (!b.arrays || !b.state || !b.leader) {
		for (size_t i = 0; i < n; i++)
			store_call_fail(calls[i], TR_ERR_UNAVAILABLE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (alert_parse(&b, i))
			valid++;
		else
			b.state[i] = AL_INVALID;
	}
	if (valid == 0)
		goto out;
	for (int attempt = 0; attempt < STORE_ALERTS_RETRIES; attempt++) {
		alert_reset(&b);
		rc = store_db_ensure(db);
		if (rc == TR_OK)
			rc = alert_tx(db, &b);
		if (rc != TR_ERR_CONFLICT)
			break;
	}
	if (rc == TR_ERR_DB && valid > 1) {
		/* something was refused: each delivery alone, so only that one fails */
		tr_warn("alerts: batch of %zu refused (%s); committing one by one", valid,
			store_db_sqlstate(db));
		alert_reset(&b);
		for (size_t i = 0; i < n; i++)
			if (b.state[i] != AL_INVALID)
				store_alerts_run(db, events, dispatch, &calls[i], 1);
		goto out;
	}
	if (rc != TR_OK) {
		char detail[320];
		snprintf(detail, sizeof(detail), "%s: %s",
			 rc == TR_ERR_DB ? "the database refused the delivery"
					 : "database unavailable",
			 store_db_errmsg(db));
		for (size_t i = 0; i < n; i++)
			if (b.state[i] != AL_INVALID)
				store_call_fail(calls[i],
						rc == TR_ERR_DB ? TR_ERR_INVALID : TR_ERR_UNAVAILABLE,
						detail);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (b.state[i] != AL_FOLLOWER)
			continue;
		const store_call *l = calls[b.leader[i]];
		calls[i]->code = l->code;
		calls[i]->incident_id = l->incident_id;
		calls[i]->json = l->json ? strdup(l->json) : NULL;
	}
	alert_publish(&b, events, dispatch);
out:
	for (size_t i = 0; b.arrays && i < n; i++)
		json_decref(b.arrays[i]);
	free(b.arrays);
	free(b.state);
	free(b.leader);
	free(b.evs);
	json_decref(b.results);
}

int store_alerts_expire(store_db *db)
{
	return store_db_exec(db, "DELETE FROM integration_deliveries WHERE expires_at < now()", 0,
			     NULL, NULL);
}
