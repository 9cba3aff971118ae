/* store_results: results and heartbeats from enrichers, applied to the database.
 *
 * DESIGN: one thread with its own PGconn and the PULL socket. It blocks in receive
 * (a short timeout to notice shutdown), then drains what else is already waiting (up
 * to STORE_RESULTS_BATCH) and applies all results in one transaction, so a thousand
 * results a second do not cost a thousand fsyncs. After COMMIT it publishes the events
 * and wakes the dispatcher (a slot was freed, or a row went back to submitted). */
#include "store_results.h"

#include <inttypes.h>
#include <math.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_sock.h"
#include "store_metrics.h"
#include "store_db.h"
#include "store_stmt.h"
#include "store_json.h"
#include "store_params.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define STORE_RESULTS_BATCH 128
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
	pthread_t thread;
	atomic_bool stopping;
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

const store_stmt store_stmt_triaged = {"result_triaged",
	"WITH u AS (UPDATE incidents i SET status = 'triaged', summary = $4, severity = $5,"
	" category = $6, suggested_actions = $7::jsonb, confidence = $8::real, backend = $9,"
	" model = nullif($10, ''), prompt_version = nullif($11, ''), latency_ms = $12::int,"
	" prompt_tokens = nullif($13::int, -1), completion_tokens = nullif($14::int, -1),"
	" similar_used = $16::bigint[], triaged_at = now(), finished_at = now(),"
	" lease_deadline = NULL,"
	" failure_reason = NULL, failure_detail = NULL, version = i.version + 1,"
	" updated_at = now()" STORE_RESULT_WHERE_T("15") STORE_RESULT_RETURNING "),"
	" e AS (INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)"
	" SELECT id, 'triaged', status, attempt, 'enricher:' || $3, jsonb_build_object("
	" 'summary', $4::text, 'severity', $5::text, 'category', $6::text,"
	" 'suggested_actions', $7::jsonb, 'confidence', $8::real, 'backend', $9::text,"
	" 'model', nullif($10, ''), 'prompt_version', nullif($11, ''),"
	" 'latency_ms', $12::int, 'prompt_tokens', nullif($13::int, -1),"
	" 'completion_tokens', nullif($14::int, -1), 'similar_used', $16::bigint[]) FROM u)"
	" SELECT *, 'triaged' FROM u"};

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

/* Applies one result inside the open transaction. *applied: it matched. */
static int store_apply_result(store_results *s, const proto_result *r, PGresult **out)
{
	char id[24], attempt[16], conf[32], lat[24], pt[24], ct[24], max[16], backoffs[2048];
	char token[24];
	store_buf actions;
	int rc;
	snprintf(id, sizeof(id), "%" PRId64, r->incident_id);
	snprintf(attempt, sizeof(attempt), "%" PRId32, r->attempt);
	snprintf(token, sizeof(token), "%" PRId64, r->lease_token);
	const char *p[16] = {id, attempt, r->enricher_id};
	char used[PROTO_SIMILAR_MAX * 21 + 3];
	switch (r->outcome) {
	case PROTO_OUTCOME_TRIAGED:
		store_buf_init(&actions, 8192);
		store_buf_adds(&actions, "[");
		for (size_t i = 0; i < r->nactions; i++) {
			if (i)
				store_buf_adds(&actions, ",");
			store_buf_json_str(&actions, r->actions[i]);
		}
		store_buf_adds(&actions, "]");
		snprintf(conf, sizeof(conf), "%.4f", r->confidence);
		snprintf(lat, sizeof(lat), "%" PRId64, r->latency_ms);
		snprintf(pt, sizeof(pt), "%" PRId64, r->prompt_tokens);
		snprintf(ct, sizeof(ct), "%" PRId64, r->completion_tokens);
		p[3] = r->summary;
		p[4] = r->severity;
		p[5] = r->category;
		p[6] = actions.failed ? "[]" : actions.data;
		p[7] = conf;
		p[8] = r->backend;
		p[9] = r->model ? r->model : "";
		p[10] = r->prompt_version ? r->prompt_version : "";
		p[11] = lat;
		p[12] = pt;
		p[13] = ct;
		p[14] = token;
		store_similar_used_array(r, used, sizeof(used));
		p[15] = used;
		rc = store_db_exec_prepared(s->db, &store_stmt_triaged, 16, p, out);
		store_buf_free(&actions);
		return rc;
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
		return store_db_exec_prepared(s->db, &store_stmt_released, 4, p,
					      out);
	}
}

/* Applies n results in one transaction; outs[i] receives each result's row set. */
static int store_apply_batch(store_results *s, proto_msg *msgs, size_t n, PGresult **outs)
{
	int rc = store_db_ensure(s->db);
	if (rc == TR_OK)
		rc = store_db_begin(s->db);
	for (size_t i = 0; rc == TR_OK && i < n; i++)
		rc = store_apply_result(s, &msgs[i].u.result, &outs[i]);
	if (rc == TR_OK)
		rc = store_db_commit(s->db);
	else
		store_db_rollback(s->db);
	if (rc != TR_OK) {
		for (size_t i = 0; i < n; i++) {
			PQclear(outs[i]);
			outs[i] = NULL;
		}
	}
	return rc;
}

static void store_after_commit(store_results *s, const proto_result *r, PGresult *res)
{
	if (!res || PQntuples(res) == 0) {
		tr_iinfo(r->incident_id, "ignored %s result of attempt %d from %s: the incident is "
					 "not processing that attempt (late or duplicate)",
			 proto_outcome_name(r->outcome), r->attempt, r->enricher_id);
		store_metrics_result_ignored();
		return;
	}
	store_metrics_result(r);
	const char *kind = PQgetvalue(res, 0, 7);
	tr_iinfo(r->incident_id, "%s attempt=%d by %s%s%s", kind, r->attempt, r->enricher_id,
		 r->reason ? " reason=" : "", r->reason ? r->reason : "");
	store_events_publish_row(s->events, res, 0, 0, kind);
}

/* Applies the results; false if the database was unavailable and nothing was applied
 * (the caller keeps them and tries again). */
static bool store_handle_results(store_results *s, proto_msg *msgs, size_t n)
{
	PGresult *outs[STORE_RESULTS_BATCH] = {0};
	int64_t t0 = tr_mono_us();
	int rc = store_apply_batch(s, msgs, n, outs);
	tr_debug("results: %zu applied in %.1f ms (%s)", n, (double)(tr_mono_us() - t0) / 1000.0,
		 tr_errname(rc));
	if (rc == TR_ERR_DB || rc == TR_ERR_CONFLICT) {
		/* one result was refused: apply each alone so only it is lost */
		for (size_t i = 0; i < n; i++) {
			if (store_apply_batch(s, &msgs[i], 1, &outs[i]) != TR_OK)
				tr_iwarn(msgs[i].u.result.incident_id,
					 "result not applied (%s); the lease will bring the job back",
					 store_db_errmsg(s->db));
		}
	} else if (rc != TR_OK) {
		tr_warn("%zu results not applied yet: database unavailable; kept and tried again",
			n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (outs[i] || rc == TR_OK)
			store_after_commit(s, &msgs[i].u.result, outs[i]);
		PQclear(outs[i]);
	}
	store_dispatch_wake(s->dispatch);
	return true;
}

/* Takes one message: a heartbeat is recorded at once; a valid result is kept in
 * msgs[*n] (ownership moves there). Everything else is logged and dropped. */
static void store_take(store_results *s, nng_msg *nm, proto_msg *msgs, size_t *n)
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
	if (*n == STORE_RESULTS_BATCH) {
		tr_iwarn(m.u.result.incident_id, "results: %d already wait for the database; this "
			 "one is dropped (the job is dispatched again when no enricher holds it)",
			 STORE_RESULTS_BATCH);
		proto_msg_free(&m);
		return;
	}
	msgs[(*n)++] = m;
}

static void *store_results_main(void *arg)
{
	store_results *s = arg;
	proto_msg msgs[STORE_RESULTS_BATCH];
	size_t n = 0; /* results kept from a pass the database could not take */
	while (!atomic_load(&s->stopping)) {
		nng_msg *nm = NULL;
		int rv = nng_recvmsg(s->sock, &nm, 0);
		if (rv != 0 && rv != NNG_ETIMEDOUT) {
			if (rv != NNG_ECLOSED)
				tr_warn("results: receive failed: %s", nng_strerror(rv));
			break;
		}
		if (rv == 0) {
			/* full (the database is away): heartbeats still count, results wait in
			 * the enrichers, which keep them */
			store_take(s, nm, msgs, &n);
			nng_msg_free(nm);
		}
		while (nng_recvmsg(s->sock, &nm, NNG_FLAG_NONBLOCK) == 0) {
			store_take(s, nm, msgs, &n);
			nng_msg_free(nm);
			if (n == STORE_RESULTS_BATCH)
				break;
		}
		if (n == 0 || !store_handle_results(s, msgs, n))
			continue;
		for (size_t i = 0; i < n; i++)
			proto_msg_free(&msgs[i]);
		n = 0;
	}
	for (size_t i = 0; i < n; i++)
		proto_msg_free(&msgs[i]);
	return NULL;
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
	if (!s->db)
		goto fail;
	rc = proto_sock_listen(PROTO_SOCK_PULL, cfg->results_url, &s->sock);
	if (rc != TR_OK)
		goto fail;
	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, STORE_RECV_TIMEOUT_MS);
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, STORE_RESULTS_RECVBUF);
	if (pthread_create(&s->thread, NULL, store_results_main, s) != 0) {
		nng_close(s->sock);
		rc = TR_ERR_INTERNAL;
		goto fail;
	}
	*out = s;
	return TR_OK;
fail:
	store_db_free(s->db);
	free(s);
	return rc;
}

void store_results_stop(store_results *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	pthread_join(s->thread, NULL);
	nng_close(s->sock);
	store_db_free(s->db);
	free(s);
}
