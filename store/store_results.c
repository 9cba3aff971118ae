/* store_results: results and heartbeats from enrichers, applied to the database.
 *
 * DESIGN: two threads. The receiver pulls every message as it comes: a ready message
 * (heartbeat) is recorded at once and wakes the dispatcher, a checked result is queued.
 * The applier, with its own PGconn, takes every result queued while its last batch
 * committed (up to STORE_RESULTS_BATCH) and applies them in one transaction, the
 * triaged ones in one statement, so a thousand results a second do not cost a thousand
 * fsyncs and credits never wait for a commit. After COMMIT it publishes the events and
 * wakes the dispatcher (a row may have gone back to submitted). From receipt until it
 * is settled, a result keeps its job (store_enrichers_result_queued). */
#include "store_results.h"

#include <inttypes.h>
#include <math.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto_sock.h"
#include "store_metrics.h"
#include "store_db.h"
#include "store_stmt.h"
#include "store_json.h"
#include "store_params.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define STORE_RESULTS_BATCH 128 /* results applied in one transaction at most */
/* Results waiting for the applier at most. Enrichers never have more jobs than their
 * free slots (exact credits; STORE_SLOTS_MAX each), so in steady state this bounds
 * nothing; it only bounds memory while the database is away (a result is under 16 KB). */
#define STORE_RESULTS_QUEUE 4096
#define STORE_RECV_TIMEOUT_MS 200
/* proto_sock keeps PULL buffers at one message, for enrichers (a job in a dead
 * enricher's buffer is lost until its lease expires). The store's results socket is
 * different: what waits here dies only with the store, and enrichers send heartbeats
 * without blocking, so a one-message buffer would drop them while a batch commits and
 * leave dispatch without credits. Results are small; 256 of the largest is 64 MB. */
#define STORE_RESULTS_RECVBUF 256

struct store_results {
	const store_config *cfg;
	store_events *events;
	store_enrichers *enrichers;
	store_dispatch *dispatch;
	nng_socket sock;
	store_db *db;
	pthread_t receiver, applier;
	atomic_bool stopping;
	pthread_mutex_t lock;    /* guards the queue */
	pthread_cond_t arrived;  /* CLOCK_MONOTONIC; a result was queued, or stopping */
	proto_msg *queue; /* STORE_RESULTS_QUEUE checked results waiting for the database */
	size_t queued;
};

static bool store_token_ok(const char *s, size_t max, bool allow_empty)
{
	size_t n = s ? strlen(s) : 0;
	if (!s || n > max || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr("._:/-", c);
		if (!ok)
			return false;
	}
	return true;
}

static bool store_utf8_bounded(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	return s && n >= min && n <= max && store_utf8_check(s, n, NULL);
}

bool store_result_check(const proto_result *r, char *detail, size_t detlen)
{
	if (r->incident_id <= 0 || r->attempt < 1) {
		snprintf(detail, detlen, "incident_id and attempt must be positive");
		return false;
	}
	if (!store_token_ok(r->enricher_id, PROTO_SHORT_MAX, false)) {
		snprintf(detail, detlen, "enricher_id: 1-255 bytes of [A-Za-z0-9._:/-]");
		return false;
	}
	switch (r->outcome) {
	case PROTO_OUTCOME_TRIAGED:
		if (!store_utf8_bounded(r->summary, 1, PROTO_SUMMARY_MAX)) {
			snprintf(detail, detlen, "summary: 1-%d bytes of UTF-8", PROTO_SUMMARY_MAX);
			return false;
		}
		if (!store_is_severity(r->severity) || !store_is_category(r->category)) {
			snprintf(detail, detlen, "severity or category outside the taxonomy");
			return false;
		}
		if (r->nactions > PROTO_ACTIONS_MAX) {
			snprintf(detail, detlen, "suggested_actions: at most %d", PROTO_ACTIONS_MAX);
			return false;
		}
		for (size_t i = 0; i < r->nactions; i++) {
			if (!store_utf8_bounded(r->actions[i], 1, PROTO_ACTION_MAX)) {
				snprintf(detail, detlen, "suggested_actions[%zu]: 1-%d bytes of UTF-8",
					 i, PROTO_ACTION_MAX);
				return false;
			}
		}
		if (!isfinite(r->confidence) || r->confidence < 0 || r->confidence > 1) {
			snprintf(detail, detlen, "confidence: must be 0..1");
			return false;
		}
		if (!store_token_ok(r->backend, 64, false) ||
		    !store_token_ok(r->model, PROTO_SHORT_MAX, true) ||
		    !store_token_ok(r->prompt_version, 64, true)) {
			snprintf(detail, detlen, "backend, model or prompt_version malformed");
			return false;
		}
		if (r->latency_ms < 0 || r->latency_ms > 86400000 || r->prompt_tokens < -1 ||
		    r->prompt_tokens > 1000000000 || r->completion_tokens < -1 ||
		    r->completion_tokens > 1000000000) {
			snprintf(detail, detlen, "latency or token counts out of range");
			return false;
		}
		return true;
	case PROTO_OUTCOME_FAILED:
	case PROTO_OUTCOME_RETRY:
		if (!store_token_ok(r->reason, 64, false)) {
			snprintf(detail, detlen, "reason: 1-64 bytes of [A-Za-z0-9._:/-]");
			return false;
		}
		if (r->detail && !store_utf8_bounded(r->detail, 0, PROTO_DETAIL_MAX)) {
			snprintf(detail, detlen, "detail: at most %d bytes of UTF-8",
				 PROTO_DETAIL_MAX);
			return false;
		}
		return true;
	case PROTO_OUTCOME_RELEASED:
		return true;
	default:
		snprintf(detail, detlen, "unknown outcome %d", r->outcome);
		return false;
	}
}

#define STORE_RESULT_RETURNING                                                             \
	" RETURNING i.id, i.version, i.status, i.state,"                                 \
	" coalesce(i.severity_override, i.severity, '') AS sev,"                          \
	" coalesce(i.category_override, i.category, '') AS cat, i.attempt"

/* The attempt must be the current one, and the result must echo the job's lease token
 * (rows dispatched before sql/006 have none): only the enricher that received the job
 * knows it. tok is the token's parameter number (the last of each statement, but for
 * similar_used after it in the triaged one). */
#define STORE_RESULT_WHERE_T(tok)                                                         \
	" WHERE i.id = $1 AND i.status = 'processing' AND i.attempt = $2"                 \
	" AND (i.lease_token IS NULL OR i.lease_token = $" tok "::bigint)"

/* The ids of the similar incidents a triage used, as a PostgreSQL array literal. */
static void store_similar_used_array(const proto_result *r, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "{");
	for (size_t i = 0; i < r->nsimilar_used && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%" PRId64, i ? "," : "",
				      r->similar_used[i]);
	if (o < outlen)
		snprintf(out + o, outlen - o, "}");
}

/* Every triaged result of a batch in one statement: one array per field ($1-$16, in
 * proto_result's order), a row per result; each matched row comes back with its
 * result's position (ord, 1-based). The checks are the per-result statements'. */
const store_stmt store_stmt_triaged = {"result_triaged",
	"WITH x AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::jsonb[], $8::real[], $9::text[], $10::text[],"
	" $11::text[], $12::int[], $13::int[], $14::int[], $15::bigint[], $16::text[])"
	" WITH ORDINALITY AS x(id, attempt, enricher, summary, severity, category, actions,"
	" confidence, backend, model, prompt_version, latency_ms, prompt_tokens,"
	" completion_tokens, token, used, ord)),"
	" u AS (UPDATE incidents i SET status = 'triaged', summary = x.summary,"
	" severity = x.severity, category = x.category, suggested_actions = x.actions,"
	" confidence = x.confidence, backend = x.backend, model = nullif(x.model, ''),"
	" prompt_version = nullif(x.prompt_version, ''), latency_ms = x.latency_ms,"
	" prompt_tokens = nullif(x.prompt_tokens, -1),"
	" completion_tokens = nullif(x.completion_tokens, -1),"
	" similar_used = x.used::bigint[], triaged_at = now(), finished_at = now(),"
	" lease_deadline = NULL, failure_reason = NULL, failure_detail = NULL,"
	" version = i.version + 1, updated_at = now() FROM x"
	" WHERE i.id = x.id AND i.status = 'processing' AND i.attempt = x.attempt"
	" AND (i.lease_token IS NULL OR i.lease_token = x.token)"
	STORE_RESULT_RETURNING ", x.ord, x.enricher, x.summary, x.severity, x.category,"
	" x.actions, x.confidence, x.backend, x.model, x.prompt_version, x.latency_ms,"
	" x.prompt_tokens, x.completion_tokens, x.used),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'triaged', status, attempt, 'enricher:' || enricher, jsonb_build_object("
	" 'summary', summary, 'severity', severity, 'category', category,"
	" 'suggested_actions', actions, 'confidence', confidence, 'backend', backend,"
	" 'model', nullif(model, ''), 'prompt_version', nullif(prompt_version, ''),"
	" 'latency_ms', latency_ms, 'prompt_tokens', nullif(prompt_tokens, -1),"
	" 'completion_tokens', nullif(completion_tokens, -1), 'similar_used', used::bigint[])"
	" FROM u ORDER BY ord)"
	" SELECT id, version, status, state, sev, cat, attempt, 'triaged', ord FROM u"
	" ORDER BY ord"};

const store_stmt store_stmt_failed = {"result_failed",
	"WITH u AS (UPDATE incidents i SET status = 'failed', failure_reason = $4,"
	" failure_detail = $5, finished_at = now(), lease_deadline = NULL,"
	" version = i.version + 1, updated_at = now()" STORE_RESULT_WHERE_T("6")
	STORE_RESULT_RETURNING "),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'failed', status, attempt, 'enricher:' || $3, jsonb_build_object("
	" 'reason', $4::text, 'detail', $5::text) FROM u)"
	" SELECT *, 'failed' FROM u"};

/* $6 max attempts, $7 the backoffs for attempts 1..max (an array indexed by the current
 * triage's attempt count, attempt - attempt_base). */
const store_stmt store_stmt_retry = {"result_retry",
	"WITH u AS (UPDATE incidents i SET"
	" status = CASE WHEN i.attempt - i.attempt_base >= $6::int THEN 'failed' ELSE 'submitted' END,"
	" failure_reason = CASE WHEN i.attempt - i.attempt_base >= $6::int THEN 'attempts_exhausted' END,"
	" failure_detail = CASE WHEN i.attempt - i.attempt_base >= $6::int THEN left($4 || ': ' ||"
	" coalesce($5, ''), 1024) END,"
	" finished_at = CASE WHEN i.attempt - i.attempt_base >= $6::int THEN now() END,"
	" next_attempt_at = now() + coalesce(($7::bigint[])[i.attempt - i.attempt_base], 0)"
	" * interval '1 millisecond',"
	" lease_deadline = NULL, version = i.version + 1, updated_at = now()"
	STORE_RESULT_WHERE_T("8") STORE_RESULT_RETURNING "),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT u.id, 'retry', u.status, u.attempt, 'enricher:' || $3, jsonb_build_object("
	" 'reason', $4::text, 'detail', $5::text, 'backoff_ms',"
	" coalesce(($7::bigint[])[u.attempt - b.attempt_base], 0))"
	" FROM u JOIN incidents b ON b.id = u.id)"
	" SELECT *, CASE WHEN status = 'failed' THEN 'failed' ELSE 'retry' END FROM u"};

/* A released job was not attempted: it goes back at once and is not counted against the
 * maximum (the base moves up; the attempt number itself is never reused). */
const store_stmt store_stmt_released = {"result_released",
	"WITH u AS (UPDATE incidents i SET status = 'submitted', attempt_base = i.attempt_base + 1,"
	" next_attempt_at = now(), lease_deadline = NULL, version = i.version + 1,"
	" updated_at = now()" STORE_RESULT_WHERE_T("4") STORE_RESULT_RETURNING "),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor)"
	" SELECT id, 'released', status, attempt, 'enricher:' || $3 FROM u)"
	" SELECT *, 'released' FROM u"};

/* What a batch did: for each result, the row set and row that say it matched (res
 * NULL: it matched nothing, late or duplicate). The row sets are owned here. */
typedef struct {
	PGresult *triaged;                    /* every triaged result's row, one statement */
	PGresult *own[STORE_RESULTS_BATCH];   /* each other result's own statement */
	const PGresult *res[STORE_RESULTS_BATCH];
	int row[STORE_RESULTS_BATCH];
} store_applied;

static void store_applied_clear(store_applied *a, size_t n)
{
	PQclear(a->triaged);
	a->triaged = NULL;
	for (size_t i = 0; i < n; i++) {
		PQclear(a->own[i]);
		a->own[i] = NULL;
		a->res[i] = NULL;
	}
}

/* The array parameters of the triaged statement, one element per triaged result. */
typedef struct {
	store_buf col[16];
} store_triaged_params;

static void store_triaged_add(store_triaged_params *t, const proto_result *r)
{
	char num[6][32], used[PROTO_SIMILAR_MAX * 21 + 3];
	store_buf actions;
	store_buf_init(&actions, 8192);
	store_buf_adds(&actions, "[");
	for (size_t i = 0; i < r->nactions; i++) {
		if (i)
			store_buf_adds(&actions, ",");
		store_buf_json_str(&actions, r->actions[i]);
	}
	store_buf_adds(&actions, "]");
	snprintf(num[0], sizeof(num[0]), "%" PRId64, r->incident_id);
	snprintf(num[1], sizeof(num[1]), "%" PRId32, r->attempt);
	snprintf(num[2], sizeof(num[2]), "%.4f", r->confidence);
	snprintf(num[3], sizeof(num[3]), "%" PRId64, r->latency_ms);
	snprintf(num[4], sizeof(num[4]), "%" PRId64, r->prompt_tokens);
	snprintf(num[5], sizeof(num[5]), "%" PRId64, r->completion_tokens);
	char token[24];
	snprintf(token, sizeof(token), "%" PRId64, r->lease_token);
	store_similar_used_array(r, used, sizeof(used));
	const char *v[16] = {num[0], num[1], r->enricher_id, r->summary, r->severity, r->category,
			     actions.failed ? "[]" : actions.data, num[2], r->backend,
			     r->model ? r->model : "", r->prompt_version ? r->prompt_version : "",
			     num[3], num[4], num[5], token, used};
	for (size_t c = 0; c < 16; c++)
		store_buf_array_item(&t->col[c], v[c]);
	store_buf_free(&actions);
}

/* Applies one result that is not triaged inside the open transaction. */
static int store_apply_other(store_results *s, const proto_result *r, PGresult **out)
{
	char id[24], attempt[16], max[16], backoffs[2048], token[24];
	snprintf(id, sizeof(id), "%" PRId64, r->incident_id);
	snprintf(attempt, sizeof(attempt), "%" PRId32, r->attempt);
	snprintf(token, sizeof(token), "%" PRId64, r->lease_token);
	const char *p[8] = {id, attempt, r->enricher_id};
	switch (r->outcome) {
	case PROTO_OUTCOME_FAILED:
		p[3] = r->reason;
		p[4] = r->detail;
		p[5] = token;
		return store_db_exec_prepared(s->db, &store_stmt_failed, 6, p, out);
	case PROTO_OUTCOME_RETRY:
		snprintf(max, sizeof(max), "%ld", s->cfg->max_attempts);
		store_backoff_array(s->cfg, backoffs, sizeof(backoffs));
		p[3] = r->reason;
		p[4] = r->detail;
		p[5] = max;
		p[6] = backoffs;
		p[7] = token;
		return store_db_exec_prepared(s->db, &store_stmt_retry, 8, p, out);
	default:
		p[3] = token;
		return store_db_exec_prepared(s->db, &store_stmt_released, 4, p, out);
	}
}

/* Every triaged result of msgs in one statement, inside the open transaction. */
static int store_apply_triaged(store_results *s, proto_msg *msgs, size_t n, store_applied *a)
{
	store_triaged_params t;
	size_t which[STORE_RESULTS_BATCH], k = 0;
	/* a checked result's field is under 8 KB (store_result_check), escaped under 16 KB:
	 * a column of STORE_RESULTS_BATCH of them fits in 4 MB */
	for (size_t c = 0; c < 16; c++) {
		store_buf_init(&t.col[c], 4 * 1024 * 1024);
		store_buf_array_open(&t.col[c]);
	}
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].u.result.outcome == PROTO_OUTCOME_TRIAGED) {
			store_triaged_add(&t, &msgs[i].u.result);
			which[k++] = i;
		}
	}
	int rc = TR_OK;
	const char *p[16];
	for (size_t c = 0; c < 16; c++) {
		store_buf_array_close(&t.col[c]);
		if (t.col[c].failed)
			rc = TR_ERR_NOMEM;
		p[c] = t.col[c].data;
	}
	if (k > 0 && rc == TR_OK)
		rc = store_db_exec_prepared(s->db, &store_stmt_triaged, 16, p, &a->triaged);
	for (int r = 0; rc == TR_OK && r < PQntuples(a->triaged); r++) {
		long ord = strtol(PQgetvalue(a->triaged, r, 8), NULL, 10);
		if (ord >= 1 && (size_t)ord <= k) {
			a->res[which[ord - 1]] = a->triaged;
			a->row[which[ord - 1]] = r;
		}
	}
	for (size_t c = 0; c < 16; c++)
		store_buf_free(&t.col[c]);
	return rc;
}

/* Applies n results in one transaction: every triaged one in one statement, the others
 * one statement each. On failure nothing is applied and a is empty. */
static int store_apply_batch(store_results *s, proto_msg *msgs, size_t n, store_applied *a)
{
	memset(a, 0, sizeof(*a));
	int rc = store_db_ensure(s->db);
	if (rc == TR_OK)
		rc = store_db_begin(s->db);
	if (rc == TR_OK)
		rc = store_apply_triaged(s, msgs, n, a);
	for (size_t i = 0; rc == TR_OK && i < n; i++) {
		if (msgs[i].u.result.outcome == PROTO_OUTCOME_TRIAGED)
			continue;
		rc = store_apply_other(s, &msgs[i].u.result, &a->own[i]);
		if (rc == TR_OK && PQntuples(a->own[i]) > 0) {
			a->res[i] = a->own[i];
			a->row[i] = 0;
		}
	}
	if (rc == TR_OK)
		rc = store_db_commit(s->db);
	else
		store_db_rollback(s->db);
	if (rc != TR_OK)
		store_applied_clear(a, n);
	return rc;
}

static void store_after_commit(store_results *s, const proto_result *r, const PGresult *res,
			       int row)
{
	if (!res) {
		tr_iinfo(r->incident_id, "ignored %s result of attempt %d from %s: the incident is "
					 "not processing that attempt (late or duplicate)",
			 proto_outcome_name(r->outcome), r->attempt, r->enricher_id);
		store_metrics_result_ignored();
		return;
	}
	store_metrics_result(r);
	const char *kind = PQgetvalue(res, row, 7);
	tr_iinfo(r->incident_id, "%s attempt=%d by %s%s%s", kind, r->attempt, r->enricher_id,
		 r->reason ? " reason=" : "", r->reason ? r->reason : "");
	store_events_publish_row(s->events, res, row, 0, kind);
}

/* Applies the results; false if the database was unavailable and nothing was applied
 * (the caller keeps them and tries again). */
static bool store_handle_results(store_results *s, proto_msg *msgs, size_t n)
{
	store_applied *a = calloc(1, sizeof(*a));
	if (!a)
		return false;
	int64_t t0 = tr_mono_us();
	int rc = store_apply_batch(s, msgs, n, a);
	tr_debug("results: %zu applied in %.1f ms (%s)", n, (double)(tr_mono_us() - t0) / 1000.0,
		 tr_errname(rc));
	if (rc == TR_OK) {
		for (size_t i = 0; i < n; i++)
			store_after_commit(s, &msgs[i].u.result, a->res[i], a->row[i]);
		store_applied_clear(a, n);
	} else if (rc == TR_ERR_DB || rc == TR_ERR_CONFLICT) {
		/* one result was refused: apply each alone so only it is lost */
		for (size_t i = 0; i < n; i++) {
			if (store_apply_batch(s, &msgs[i], 1, a) != TR_OK) {
				tr_iwarn(msgs[i].u.result.incident_id,
					 "result not applied (%s); the lease will bring the job back",
					 store_db_errmsg(s->db));
				continue;
			}
			store_after_commit(s, &msgs[i].u.result, a->res[0], a->row[0]);
			store_applied_clear(a, 1);
		}
	} else {
		tr_warn("%zu results not applied yet: database unavailable; kept and tried again",
			n);
		free(a);
		return false;
	}
	free(a);
	store_dispatch_wake(s->dispatch);
	return true;
}

/* Takes one message: a heartbeat is recorded at once; a valid result is queued for the
 * applier (ownership moves there). Everything else is logged and dropped. */
static void store_take(store_results *s, nng_msg *nm)
{
	proto_msg m;
	char err[200];
	if (proto_decode(nng_msg_body(nm), nng_msg_len(nm), &m, err, sizeof(err)) != TR_OK) {
		tr_warn("results: dropped a malformed message: %s", err);
		return;
	}
	if (m.type == PROTO_HEARTBEAT) {
		const proto_heartbeat *h = &m.u.heartbeat;
		if (store_enrichers_heartbeat(s->enrichers, h, tr_mono_ms()))
			store_dispatch_wake(s->dispatch);
		proto_msg_free(&m);
		return;
	}
	if (m.type != PROTO_RESULT) {
		tr_warn("results: dropped a %s message (only results and heartbeats belong here)",
			proto_type_name(m.type));
		proto_msg_free(&m);
		return;
	}
	if (!store_result_check(&m.u.result, err, sizeof(err))) {
		tr_iwarn(m.u.result.incident_id, "results: dropped an invalid result: %s", err);
		proto_msg_free(&m);
		return;
	}
	if (!store_enrichers_result_ok(s->enrichers, m.u.result.incident_id, m.u.result.attempt,
				       m.u.result.enricher_id)) {
		tr_iwarn(m.u.result.incident_id, "results: dropped a result of attempt %d from %s: "
			 "that attempt is held by another enricher", m.u.result.attempt,
			 m.u.result.enricher_id);
		proto_msg_free(&m);
		return;
	}
	/* kept from here until settled: this enricher's next ready message may no longer
	 * list the job, and the reconcile must not take the row back under its result */
	store_enrichers_result_queued(s->enrichers, m.u.result.incident_id, m.u.result.attempt);
	pthread_mutex_lock(&s->lock);
	bool full = s->queued == STORE_RESULTS_QUEUE;
	if (!full) {
		s->queue[s->queued++] = m;
		pthread_cond_signal(&s->arrived);
	}
	pthread_mutex_unlock(&s->lock);
	if (!full)
		tr_idebug(m.u.result.incident_id, "result of attempt %d queued", m.u.result.attempt);
	if (full) {
		tr_iwarn(m.u.result.incident_id, "results: %d already wait for the database; this "
			 "one is dropped (the job is dispatched again when no enricher holds it)",
			 STORE_RESULTS_QUEUE);
		store_enrichers_result_settled(s->enrichers, m.u.result.incident_id,
					       m.u.result.attempt);
		proto_msg_free(&m);
	}
}

/* The receiver: every message as it comes, so ready messages (the dispatcher's credits)
 * never wait behind a commit. */
static void *store_results_receive(void *arg)
{
	store_results *s = arg;
	while (!atomic_load(&s->stopping)) {
		nng_msg *nm = NULL;
		int rv = nng_recvmsg(s->sock, &nm, 0);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0) {
			if (rv != NNG_ECLOSED)
				tr_warn("results: receive failed: %s", nng_strerror(rv));
			break;
		}
		store_take(s, nm);
		nng_msg_free(nm);
	}
	return NULL;
}

/* Waits on arrived until woken or abs_ms (monotonic); with the lock held. */
static void store_results_wait(store_results *s, int64_t abs_ms)
{
	struct timespec ts = {.tv_sec = abs_ms / 1000, .tv_nsec = (abs_ms % 1000) * 1000000L};
	pthread_cond_timedwait(&s->arrived, &s->lock, &ts);
}

/* The applier: every result queued while the last batch committed, in one transaction.
 * While the database is away the batch is kept and tried again (the receiver goes on
 * recording ready messages; results beyond the queue wait in the enrichers). */
static void *store_results_apply(void *arg)
{
	store_results *s = arg;
	proto_msg msgs[STORE_RESULTS_BATCH];
	size_t n = 0; /* results kept from a pass the database could not take */
	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (n == 0 && s->queued == 0 && !atomic_load(&s->stopping))
			store_results_wait(s, tr_mono_ms() + STORE_RECV_TIMEOUT_MS);
		size_t take = s->queued < STORE_RESULTS_BATCH - n ? s->queued : STORE_RESULTS_BATCH - n;
		memcpy(msgs + n, s->queue, take * sizeof(*msgs));
		memmove(s->queue, s->queue + take, (s->queued - take) * sizeof(*msgs));
		s->queued -= take;
		n += take;
		bool stop = atomic_load(&s->stopping);
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (n == 0)
			continue;
		if (!store_handle_results(s, msgs, n)) {
			/* the database is away: try again after a pause */
			pthread_mutex_lock(&s->lock);
			if (!atomic_load(&s->stopping))
				store_results_wait(s, tr_mono_ms() + STORE_RECV_TIMEOUT_MS);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			store_enrichers_result_settled(s->enrichers, msgs[i].u.result.incident_id,
						       msgs[i].u.result.attempt);
			proto_msg_free(&msgs[i]);
		}
		n = 0;
	}
	for (size_t i = 0; i < n; i++)
		proto_msg_free(&msgs[i]);
	return NULL;
}

static void store_results_stop_applier(store_results *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_signal(&s->arrived);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->applier, NULL);
}

int store_results_start(const store_config *cfg, store_events *events,
			store_enrichers *enrichers, store_dispatch *dispatch,
			store_results **out)
{
	store_results *s = calloc(1, sizeof(*s));
	int rc = TR_ERR_NOMEM;
	if (!s)
		return rc;
	s->cfg = cfg;
	s->events = events;
	s->enrichers = enrichers;
	s->dispatch = dispatch;
	atomic_init(&s->stopping, false);
	s->db = store_db_new(cfg->database_url, cfg->db_timeout_ms, "results", STORE_DB_LAZY);
	s->queue = calloc(STORE_RESULTS_QUEUE, sizeof(*s->queue));
	if (!s->db || !s->queue)
		goto fail;
	rc = proto_sock_listen(PROTO_SOCK_PULL, cfg->results_url, &s->sock);
	if (rc != TR_OK)
		goto fail;
	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, STORE_RECV_TIMEOUT_MS);
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, STORE_RESULTS_RECVBUF);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->arrived, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->applier, NULL, store_results_apply, s) != 0) {
		rc = TR_ERR_INTERNAL;
		goto fail_sync;
	}
	if (pthread_create(&s->receiver, NULL, store_results_receive, s) != 0) {
		store_results_stop_applier(s);
		rc = TR_ERR_INTERNAL;
		goto fail_sync;
	}
	*out = s;
	return TR_OK;
fail_sync:
	proto_sock_close(s->sock);
	pthread_cond_destroy(&s->arrived);
	pthread_mutex_destroy(&s->lock);
fail:
	store_db_free(s->db);
	free(s->queue);
	free(s);
	return rc;
}

void store_results_stop(store_results *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	pthread_join(s->receiver, NULL);
	store_results_stop_applier(s);
	proto_sock_close(s->sock);
	for (size_t i = 0; i < s->queued; i++)
		proto_msg_free(&s->queue[i]);
	pthread_cond_destroy(&s->arrived);
	pthread_mutex_destroy(&s->lock);
	store_db_free(s->db);
	free(s->queue);
	free(s);
}
