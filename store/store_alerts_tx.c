/* store_alerts_tx: one group-commit transaction of alert deliveries: replayed
 * deliveries, events coalesced per fingerprint, triage_alerts_apply, replies, events. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_alerts.h"
#include "store_json.h"
#include "store_stmt.h"
#include "tr_err.h"
#include "tr_log.h"

#define STORE_ALERTS_RETRIES 3
#define STORE_ALERTS_LIST_MAX 500 /* events listed one by one in a reply */

typedef enum { AL_FRESH = 0, AL_INVALID, AL_REPLAY, AL_FOLLOWER } alert_state;

/* One event: a line of the delivery's events (NDJSON, see proto.h), which starts with
 * {"a":"<action>","fp":"<fingerprint>" as the gateway writes it, so the store reads
 * the action and the fingerprint without parsing the rest (PostgreSQL checks the JSON).
 * The fingerprint is kept in its JSON form (quotes and escapes): equal fingerprints
 * have equal forms, and it goes into replies as it is. */
typedef enum { AL_TRIGGER = 0, AL_ACK, AL_RESOLVE } alert_action;

typedef struct {
	const char *line; /* into the call's message; not NUL-terminated at len */
	size_t len;
	const char *fp;   /* the fingerprint's JSON string, quotes included */
	size_t fplen;
	alert_action action;
	size_t call;      /* index of its delivery */
	size_t seq;       /* order over the whole batch */
	size_t op;        /* the coalesced operation it belongs to */
	bool first;       /* first event of that operation */
} alert_ev;

typedef struct {
	store_call **calls;
	size_t n;
	alert_ev **items;   /* per call: its events */
	size_t *nitems;
	alert_state *state;
	size_t *leader;     /* AL_FOLLOWER: the call with the same delivery key */
	alert_ev *evs;      /* the fresh calls' events, sorted by fingerprint */
	size_t nev;
	json_t *results;    /* triage_alerts_apply's answer, one per operation */
} alert_batch;

const store_stmt store_stmt_alerts_claim = {"alerts_claim",
	"INSERT INTO integration_deliveries AS d (delivery_key, expires_at)"
	" SELECT key, now() + ttl * interval '1 millisecond'"
	" FROM unnest($1::text[], $2::bigint[]) AS k(key, ttl)"
	" ON CONFLICT (delivery_key) DO UPDATE SET expires_at = excluded.expires_at, reply = ''"
	" WHERE d.expires_at < now() RETURNING delivery_key"};

const store_stmt store_stmt_alerts_replies = {"alerts_replies",
	"SELECT delivery_key, reply FROM integration_deliveries WHERE delivery_key = ANY($1::text[])"};

const store_stmt store_stmt_alerts_apply = {"alerts_apply", "SELECT triage_alerts_apply($1::jsonb)"};

const store_stmt store_stmt_alerts_record = {"alerts_record",
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
	" events = s.events + excluded.events"};

/* Reads one line; false if it is not what the gateway writes. */
static bool alert_line(const char *p, size_t len, alert_ev *e)
{
	static const char *const actions[] = {"trigger", "acknowledge", "resolve"};
	size_t i = 6;
	if (len < 8 || memcmp(p, "{\"a\":\"", 6) != 0 || p[len - 1] != '}')
		return false;
	int act = -1;
	for (int k = 0; k < 3 && act < 0; k++) {
		size_t n = strlen(actions[k]);
		if (len - i > n && memcmp(p + i, actions[k], n) == 0 && p[i + n] == '"') {
			act = k;
			i += n + 1;
		}
	}
	if (act < 0 || len - i < 8 || memcmp(p + i, ",\"fp\":\"", 7) != 0)
		return false;
	i += 6; /* the opening quote */
	size_t start = i++;
	while (i < len && p[i] != '"')
		i += p[i] == '\\' ? 2 : 1;
	if (i >= len || i - start < 2 || i - start > 6 * PROTO_SHORT_MAX)
		return false; /* unterminated, empty or far too long */
	e->line = p;
	e->len = len;
	e->fp = p + start;
	e->fplen = i - start + 1;
	e->action = (alert_action)act;
	return true;
}

/* Splits call i's events into lines; false (with the reply set) when malformed. */
static bool alert_parse(alert_batch *b, size_t i)
{
	const char *ev = b->calls[i]->req.u.alerts.events;
	size_t n = 1;
	for (const char *p = ev; *p; p++)
		n += *p == '\n';
	alert_ev *items = calloc(n, sizeof(*items));
	size_t k = 0;
	const char *why = items ? NULL : "out of memory";
	for (const char *p = ev; !why && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (!alert_line(p, len, &items[k]))
			why = "events: a line is not an event as the gateway writes it";
		k++;
		p += len + (nl ? 1 : 0);
	}
	if (!why && k == 0)
		why = "events: none";
	if (why) {
		free(items);
		store_call_fail(b->calls[i], TR_ERR_INVALID, why);
		return false;
	}
	b->items[i] = items;
	b->nitems[i] = k;
	return true;
}

static bool alert_same_fp(const alert_ev *a, const alert_ev *b)
{
	return a->fplen == b->fplen && memcmp(a->fp, b->fp, a->fplen) == 0;
}

static int alert_ev_cmp(const void *x, const void *y)
{
	const alert_ev *a = x, *b = y;
	int c = memcmp(a->fp, b->fp, a->fplen < b->fplen ? a->fplen : b->fplen);
	if (c)
		return c;
	if (a->fplen != b->fplen)
		return a->fplen < b->fplen ? -1 : 1;
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
	rc = store_db_exec_prepared(db, &store_stmt_alerts_claim, 2, p, &res);
	if (rc != TR_OK || (size_t)PQntuples(res) == m)
		goto out;
	const char *p2[] = {keys.data};
	rc = store_db_exec_prepared(db, &store_stmt_alerts_replies, 1, p2, &res2);
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
 * coalesces each run of triggers into one operation; writes the operations as the JSON
 * array triage_alerts_apply takes. Returns the number of operations, or -1 when out of
 * memory. Sorting also fixes the order in which rows are locked, so two transactions
 * cannot deadlock on them. */
static long alert_coalesce(alert_batch *b, store_buf *ops)
{
	size_t total = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->state[i] == AL_FRESH)
			total += b->nitems[i];
	b->evs = calloc(total ? total : 1, sizeof(*b->evs));
	size_t *count = calloc(total ? total : 1, sizeof(size_t));
	long nops = -1;
	if (!b->evs || !count)
		goto out;
	b->nev = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->state[i] != AL_FRESH)
			continue;
		for (size_t k = 0; k < b->nitems[i]; k++) {
			alert_ev *e = &b->evs[b->nev];
			*e = b->items[i][k];
			e->call = i;
			e->seq = b->nev++;
		}
	}
	qsort(b->evs, b->nev, sizeof(*b->evs), alert_ev_cmp);
	size_t n = 0;
	for (size_t k = 0; k < b->nev; k++) {
		alert_ev *e = &b->evs[k];
		const alert_ev *prev = k ? &b->evs[k - 1] : NULL;
		if (prev && alert_same_fp(prev, e) && e->action == AL_TRIGGER &&
		    prev->action == AL_TRIGGER) {
			e->op = n - 1;
			count[n - 1]++;
			continue;
		}
		e->op = n++;
		e->first = true;
		count[e->op] = 1;
	}
	store_buf_adds(ops, "[");
	for (size_t k = 0; k < b->nev; k++) {
		const alert_ev *e = &b->evs[k];
		const proto_alerts *m = &b->calls[e->call]->req.u.alerts;
		char rid[PROTO_SHORT_MAX + 32];
		if (!e->first)
			continue;
		snprintf(rid, sizeof(rid), "%s:%zu", m->request_id, e->seq);
		store_buf_addf(ops, "%s{\"n\":%zu,\"src\":", e->op ? "," : "", count[e->op]);
		store_buf_json_str(ops, m->source);
		store_buf_adds(ops, ",\"rid\":");
		store_buf_json_str(ops, rid);
		store_buf_adds(ops, ",");
		store_buf_add(ops, e->line + 1, e->len - 1);
	}
	store_buf_adds(ops, "]");
	if (!ops->failed)
		nops = (long)n;
out:
	free(count);
	return nops;
}

/* The reply of fresh call i from the operations' results; counts into sum[5].
 * Malloc'd; NULL when out of memory. */
static char *alert_reply(alert_batch *b, size_t i, size_t *order, long sum[5])
{
	static const char *const kinds[] = {"created", "occurrence", "acknowledged", "resolved",
					    "ignored"};
	const proto_alerts *m = &b->calls[i]->req.u.alerts;
	bool pd = strcmp(m->source, "pagerduty") == 0;
	const alert_ev *last = NULL;
	json_int_t last_id = 0;
	size_t nev = 0;
	store_buf out;
	store_buf_init(&out, PROTO_JSON_MAX);
	/* a delivery of thousands of alerts is answered with counts only, so the reply
	 * always fits PROTO_JSON_MAX */
	bool list = !pd && b->nitems[i] <= STORE_ALERTS_LIST_MAX;
	store_buf_adds(&out, "{\"status\":\"success\"");
	if (!pd)
		store_buf_addf(&out, ",\"events\":%zu%s", b->nitems[i], list ? ",\"results\":[" : "");
	/* events in their delivery order: evs is sorted, order[] maps seq to position */
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
		last = e;
		last_id = json_integer_value(id);
		if (!list)
			continue;
		store_buf_adds(&out, nev++ ? ",{\"fingerprint\":" : "{\"fingerprint\":");
		store_buf_add(&out, e->fp, e->fplen);
		if (json_is_integer(id))
			store_buf_addf(&out, ",\"incident_id\":%" JSON_INTEGER_FORMAT,
				       json_integer_value(id));
		else
			store_buf_adds(&out, ",\"incident_id\":null");
		store_buf_addf(&out, ",\"result\":\"%s\"}", what);
	}
	if (pd) {
		store_buf_adds(&out, ",\"message\":\"Event processed\",\"dedup_key\":");
		if (last)
			store_buf_add(&out, last->fp, last->fplen);
		else
			store_buf_adds(&out, "null");
		if (last_id > 0)
			store_buf_addf(&out, ",\"incident_id\":%" JSON_INTEGER_FORMAT, last_id);
		store_buf_adds(&out, "}");
	} else if (list) {
		store_buf_adds(&out, "]}");
	} else {
		store_buf_addf(&out, ",\"summary\":{\"created\":%ld,\"occurrence\":%ld,"
			       "\"acknowledged\":%ld,\"resolved\":%ld,\"ignored\":%ld}}",
			       sum[0], sum[1], sum[2], sum[3], sum[4]);
	}
	b->calls[i]->incident_id = last_id;
	return store_buf_take(&out);
}

/* Applies the operations, answers the fresh calls and followers, records the replies
 * of the delivery keys and the last event per source. */
static int alert_step_apply(store_db *db, alert_batch *b)
{
	PGresult *res = NULL;
	size_t *order = NULL;
	int rc = TR_ERR_NOMEM;
	store_buf ops, keys, replies, srcs, lastn, lastsum, nd, ne;
	size_t cap = 64 * 1024 * 1024;
	store_buf_init(&ops, cap);
	store_buf_init(&keys, cap);
	store_buf_init(&replies, cap);
	store_buf_init(&srcs, 4096);
	store_buf_init(&lastn, 4096);
	store_buf_init(&lastsum, 4096);
	store_buf_init(&nd, 4096);
	store_buf_init(&ne, 4096);
	long nops = alert_coalesce(b, &ops);
	if (nops < 0)
		goto out;
	rc = TR_OK;
	if (nops == 0)
		goto out; /* every call was a replay */
	rc = TR_ERR_NOMEM;
	order = calloc(b->nev, sizeof(size_t));
	if (!order)
		goto out;
	for (size_t k = 0; k < b->nev; k++)
		order[b->evs[k].seq] = k;
	const char *p[] = {ops.data};
	rc = store_db_exec_prepared(db, &store_stmt_alerts_apply, 1, p, &res);
	if (rc != TR_OK)
		goto out;
	rc = TR_ERR_INTERNAL;
	b->results = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!json_is_array(b->results) || json_array_size(b->results) != (size_t)nops)
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
			char *text = alert_reply(b, i, order, sum);
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
			last_events = (long)b->nitems[i];
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
	rc = store_db_exec_prepared(db, &store_stmt_alerts_record, 7, p2, NULL);
out:
	free(order);
	store_buf_free(&ops);
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
	b.items = calloc(n, sizeof(*b.items));
	b.nitems = calloc(n, sizeof(*b.nitems));
	b.state = calloc(n, sizeof(*b.state));
	b.leader = calloc(n, sizeof(*b.leader));
	if (!b.items || !b.nitems || !b.state || !b.leader) {
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
	for (size_t i = 0; b.items && i < n; i++)
		free(b.items[i]);
	free(b.items);
	free(b.nitems);
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
