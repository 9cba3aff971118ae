/* store_similar: the similarity statement (one for the API and for dispatch) and the
 * bounded copies of its rows that jobs carry. */
#include "store_similar.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_json.h"
#include "store_stmt.h"
#include "tr_err.h"
#include "tr_log.h"

/* The most similar earlier incidents of each id in $1 (bigint[]); $2: how many each.
 * The query words of an incident are at most 12 of its lexemes (built here if it has no
 * search data yet, sql/017), title words first, then the rarest (document frequencies from
 * the planner's statistics of search_tsv, so no scan is needed). Candidates share the
 * incident's rarest title word among those the statistics know to be in at least
 * STORE_SQL_ANCHOR_MIN_ROWS incidents (so other incidents have it: a host name seen
 * nowhere else found nothing, or only itself in a small table), and are taken in two
 * tiers, at most 300 in all, which bounds the work whatever the history's size: first
 * those that also share a rare word (in under 1% of incidents, or not among the
 * statistics' common ones: a rare word's posting list is cheap to read), then, only if
 * fewer than 300 were found, any others. Measured at a million incidents
 * (bench/memory.py's history, 60 incidents): the single query before (rarest title word
 * and any other word under 10%) was p50 29 ms, p90 49 ms, its index scan returning up to
 * 62,000 rows of which it read the oldest 300, and found nothing for a title with a new
 * host name; the tiers are p50 9 ms, p90 28 ms, with closer incidents found (mean best
 * score 0.87 against 0.84). Before the table has statistics, which a small table may lack,
 * any one of the words. All 12 words count in the score. The score (0..1) is 0.7 x the
 * weighted share of the query words a candidate has (title words count twice, rare words
 * more) + 0.15 same service + 0.05 same source + 0.1 x the share of labels it has equal.
 * "c.id + 0 < t.id" keeps the planner from reading the primary key for the whole range
 * below the incident (a BitmapAnd over ~all rows, 23 ms at 100,000 rows): the bounded
 * GIN match is filtered instead. Incidents still without search data (just ingested,
 * sql/017) are candidates of the API's lookup too, their words built here, read through
 * incidents_unsearched; a remembered incident always has its search data (resolving or
 * labelling it built it). match(q) is the candidate condition for the tsquery q. */
/* q: the first tier's query (see above); q2: the second's, the rarest title word alone.
 * Without statistics, both are any of the words (and the second tier finds nothing). */
#define STORE_SQL_SIMILAR_QUERIES                                                         \
	"  (CASE WHEN EXISTS (SELECT 1 FROM st)"                                             \
	"  THEN min(w.lq::text) FILTER (WHERE w.n = 1) ||"                                   \
	"  coalesce(' & (' || string_agg(w.lq::text, ' | ') FILTER (WHERE w.n > 1"            \
	"  AND w.freq < 0.01) || ')', '')"                                                    \
	"  ELSE string_agg(w.lq::text, ' | ') END)::tsquery AS q,"                            \
	"  (CASE WHEN EXISTS (SELECT 1 FROM st) THEN min(w.lq::text) FILTER (WHERE w.n = 1)" \
	"  ELSE string_agg(w.lq::text, ' | ') END)::tsquery AS q2"
#define STORE_SQL_SIMILAR_CANDIDATES(cond, other)                                        \
	"(SELECT c.id, c.title, coalesce(c.search_tsv, triage_search_tsv(c.title,"           \
	"  c.service, c.source, c.labels, c.description)) AS search_tsv, c.service, c.source," \
	"  c.labels, c.severity, c.category, c.severity_override, c.category_override,"      \
	"  c.state, c.status, c.created_at, c.resolved_at, c.resolution_note,"              \
	"  c.triage_feedback FROM incidents c"                                               \
	"  WHERE " cond " AND c.id + 0 " other " t.id LIMIT 300)"
/* The fewest incidents (frequency x the table's rows) a title word must be in to anchor
 * the candidates: in a small table the statistics know every word, a host name found in
 * one incident too, and candidates sharing that alone are that one incident. */
#define STORE_SQL_ANCHOR_MIN_ROWS "10"
#define STORE_SQL_SIMILAR(match, other) \
	"WITH st AS (SELECT e.lexeme, e.freq, e.freq * greatest(pc.reltuples, 0) AS rows" \
	"  FROM pg_stats s JOIN pg_class pc ON pc.oid = 'incidents'::regclass," \
	"  unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(lexeme, freq)" \
	"  WHERE s.schemaname = current_schema() AND s.tablename = 'incidents'" \
	"  AND s.attname = 'search_tsv' AND e.lexeme IS NOT NULL)," \
	" w AS (SELECT i.id, ('''' || replace(replace(u.lexeme, '\\', '\\\\'), '''', '''''')" \
	"  || '''')::tsquery AS lq," \
	"  (CASE WHEN 'A' = ANY(u.weights) THEN 2 ELSE 1 END) * (1.0 - coalesce(st.freq, 0)) AS wt," \
	"  coalesce(st.freq, 0) AS freq," \
	"  row_number() OVER (PARTITION BY i.id ORDER BY ('A' = ANY(u.weights)) DESC," \
	"  ('A' = ANY(u.weights) AND coalesce(st.rows, 0) < " STORE_SQL_ANCHOR_MIN_ROWS ")," \
	"  coalesce(st.freq, 0), u.lexeme) AS n" \
	"  FROM incidents i CROSS JOIN LATERAL unnest(coalesce(i.search_tsv, triage_search_tsv(" \
	"  i.title, i.service, i.source, i.labels, i.description))) u" \
	"  LEFT JOIN st ON st.lexeme = u.lexeme WHERE i.id = ANY($1::bigint[]))," \
	" t AS (SELECT i.id, i.service, i.source, i.labels, array_agg(w.lq ORDER BY w.n) AS lqs," \
	"  array_agg(w.wt ORDER BY w.n) AS wts," \
	STORE_SQL_SIMILAR_QUERIES \
	"  FROM incidents i JOIN w ON w.id = i.id AND w.n <= 12 GROUP BY i.id)" \
	" SELECT t.id, c.id, c.score, c.title, coalesce(c.severity_override, c.severity, '')," \
	"  coalesce(c.category_override, c.category, ''), c.state, c.status," \
	"  triage_ts(c.created_at), triage_ts(c.resolved_at), c.resolution_note," \
	"  c.triage_feedback, c.human_labelled" \
	" FROM t CROSS JOIN LATERAL (SELECT c.*, round((0.7 * (SELECT sum(x.wt) FILTER" \
	"  (WHERE c.search_tsv @@ x.lq) / sum(x.wt) FROM unnest(t.lqs, t.wts) x(lq, wt))" \
	"  + 0.15 * coalesce(c.service = t.service, false)::int" \
	"  + 0.05 * coalesce(c.source = t.source, false)::int" \
	"  + 0.1 * coalesce((SELECT count(*) FILTER (WHERE c.labels ->> x.key = x.value)::float8" \
	"  / nullif(count(*), 0) FROM jsonb_each_text(t.labels) x), 0))::numeric, 4)::float8" \
	"  AS score," \
	"  (c.severity_override IS NOT NULL OR c.category_override IS NOT NULL" \
	"  OR coalesce(c.triage_feedback = 'right', false)) AS human_labelled" \
	"  FROM (" STORE_SQL_SIMILAR_CANDIDATES(match("t.q"), other) " UNION ALL " \
	STORE_SQL_SIMILAR_CANDIDATES(match("t.q2") " AND (" match("t.q") ") IS NOT TRUE", other) \
	"  LIMIT 300) c ORDER BY score DESC NULLS LAST, c.id DESC LIMIT $2) c" \
	" ORDER BY t.id, c.score DESC NULLS LAST, c.id DESC"

/* The API: the most similar earlier incidents of any state, through sql/011's index and,
 * for those without search data yet, sql/017's incidents_unsearched. */
#define STORE_SQL_MATCH_ANY(q)                                                            \
	"(c.search_tsv @@ " q " OR (c.search_tsv IS NULL AND triage_search_tsv(c.title,"      \
	" c.service, c.source, c.labels, c.description) @@ " q "))"
const store_stmt store_stmt_similar_any = {"similar_any",
					   STORE_SQL_SIMILAR(STORE_SQL_MATCH_ANY, "<")};

/* Jobs: the incidents this deployment remembers, resolved (examples for a prompt) or
 * labelled by a responder (whose labels the built-in model weighs), earlier or later
 * (a re-triage weighs the corrections made since), through sql/018's index. The CASE
 * must stay the index's expression, word for word, for the planner to use it (the plan
 * test at 100,000 incidents checks). */
#define STORE_SQL_REMEMBERED_WORDS                                                        \
	"(CASE WHEN c.state = 'resolved' OR c.severity_override IS NOT NULL"               \
	" OR c.category_override IS NOT NULL OR c.triage_feedback = 'right'"               \
	" THEN c.search_tsv END)"
#define STORE_SQL_MATCH_REMEMBERED(q) STORE_SQL_REMEMBERED_WORDS " @@ " q
const store_stmt store_stmt_similar_jobs = {"similar_jobs",
					    STORE_SQL_SIMILAR(STORE_SQL_MATCH_REMEMBERED, "<>")};

enum { S_FOR, S_ID, S_SCORE, S_TITLE, S_SEV, S_CAT, S_STATE, S_STATUS, S_CREATED,
       S_RESOLVED, S_NOTE, S_FEEDBACK, S_HUMAN };

static int store_similar_query(store_db *db, const int64_t *ids, size_t n, bool for_jobs,
			       PGresult **res)
{
	store_buf arr;
	char num[24], k[8];
	int rc = TR_ERR_NOMEM;
	store_buf_init(&arr, 32 + n * 21);
	store_buf_array_open(&arr);
	for (size_t i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%" PRId64, ids[i]);
		store_buf_array_item(&arr, num);
	}
	store_buf_array_close(&arr);
	snprintf(k, sizeof(k), "%d", STORE_SIMILAR_TOP);
	if (!arr.failed) {
		const char *p[] = {arr.data, k};
		rc = store_db_exec_prepared(db, for_jobs ? &store_stmt_similar_jobs
							 : &store_stmt_similar_any,
					    2, p, res);
	}
	store_buf_free(&arr);
	return rc;
}

static void store_json_field(store_buf *b, const char *name, PGresult *res, int row, int col)
{
	store_buf_addf(b, ",\"%s\":", name);
	if (PQgetisnull(res, row, col) || (col != S_TITLE && !*PQgetvalue(res, row, col)))
		store_buf_adds(b, "null");
	else
		store_buf_json_str(b, PQgetvalue(res, row, col));
}

int store_similar_run(store_reader *r, store_call *call)
{
	int64_t id = call->req.u.query.incident_id;
	PGresult *res = NULL;
	char num[24];
	if (call->req.u.query.nparams > 0)
		return store_call_fail(call, TR_ERR_INVALID, "similar takes no parameters");
	if (id <= 0)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	snprintf(num, sizeof(num), "%" PRId64, id);
	const char *p[] = {num};
	int rc = store_db_exec(r->db, "SELECT 1 FROM incidents WHERE id = $1", 1, p, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	bool found = PQntuples(res) > 0;
	PQclear(res);
	if (!found)
		return store_call_fail(call, TR_ERR_NOT_FOUND, "no such incident");
	rc = store_similar_query(r->db, &id, 1, false, &res);
	if (rc != TR_OK)
		return store_query_db_fail(r, call, rc);
	store_buf b;
	store_buf_init(&b, PROTO_JSON_MAX);
	store_buf_adds(&b, "{\"items\":[");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *score = PQgetvalue(res, i, S_SCORE);
		store_buf_addf(&b, "%s{\"id\":%s,\"score\":%s", i ? "," : "", PQgetvalue(res, i, S_ID),
			       *score ? score : "0");
		store_json_field(&b, "title", res, i, S_TITLE);
		store_json_field(&b, "severity", res, i, S_SEV);
		store_json_field(&b, "category", res, i, S_CAT);
		store_json_field(&b, "state", res, i, S_STATE);
		store_json_field(&b, "status", res, i, S_STATUS);
		store_json_field(&b, "created_at", res, i, S_CREATED);
		store_json_field(&b, "resolved_at", res, i, S_RESOLVED);
		store_json_field(&b, "resolution_note", res, i, S_NOTE);
		store_json_field(&b, "triage_feedback", res, i, S_FEEDBACK);
		store_buf_addf(&b, ",\"human_labelled\":%s}",
			       *PQgetvalue(res, i, S_HUMAN) == 't' ? "true" : "false");
	}
	store_buf_adds(&b, "]}");
	PQclear(res);
	char *json = store_buf_take(&b);
	if (!json)
		return store_call_fail(call, TR_ERR_TOO_LARGE, "the answer is too large");
	call->incident_id = id;
	return store_call_ok(call, json);
}

struct store_similar_set {
	PGresult *res;
	proto_similar *entries; /* one per row; strings point into res or notes */
	char *notes;            /* the trimmed notes, PROTO_SIMILAR_NOTE_MAX + 1 bytes each */
	int rows;
};

/* Copies at most max bytes of s into dst, cut on a UTF-8 character boundary. */
static void store_trim_utf8(char *dst, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

store_similar_set *store_similar_for_jobs(store_db *db, const int64_t *ids, size_t n)
{
	store_similar_set *set = calloc(1, sizeof(*set));
	if (!set || n == 0)
		return set;
	int rc = store_similar_query(db, ids, n, true, &set->res);
	if (rc != TR_OK) {
		tr_warn("similar incidents not attached to %zu jobs: %s", n, tr_strerror(rc));
		free(set);
		return NULL;
	}
	set->rows = PQntuples(set->res);
	if (set->rows == 0)
		return set;
	set->entries = calloc((size_t)set->rows, sizeof(*set->entries));
	set->notes = malloc((size_t)set->rows * (PROTO_SIMILAR_NOTE_MAX + 1));
	if (!set->entries || !set->notes) {
		store_similar_free(set);
		return NULL;
	}
	for (int i = 0; i < set->rows; i++) {
		proto_similar *e = &set->entries[i];
		char *note = set->notes + (size_t)i * (PROTO_SIMILAR_NOTE_MAX + 1);
		e->incident_id = strtoll(PQgetvalue(set->res, i, S_ID), NULL, 10);
		e->score = strtod(PQgetvalue(set->res, i, S_SCORE), NULL);
		if (!(e->score >= 0 && e->score <= 1))
			e->score = e->score > 1 ? 1 : 0;
		e->title = PQgetvalue(set->res, i, S_TITLE);
		e->severity = PQgetvalue(set->res, i, S_SEV);
		e->category = PQgetvalue(set->res, i, S_CAT);
		e->human_labelled = *PQgetvalue(set->res, i, S_HUMAN) == 't';
		e->unresolved = strcmp(PQgetvalue(set->res, i, S_STATE), "resolved") != 0;
		store_trim_utf8(note, PQgetvalue(set->res, i, S_NOTE), PROTO_SIMILAR_NOTE_MAX);
		e->resolution_note = note;
	}
	return set;
}

void store_similar_of(const store_similar_set *set, int64_t id, proto_similar **out,
		      size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!set)
		return;
	int first = -1, count = 0;
	for (int i = 0; i < set->rows; i++) {
		if (strtoll(PQgetvalue(set->res, i, S_FOR), NULL, 10) != id)
			continue;
		if (first < 0)
			first = i;
		count++;
	}
	if (first < 0)
		return;
	/* rows of one incident are adjacent, best first: keep what fits the byte bound */
	size_t bytes = 0, n = 0;
	for (int i = first; i < first + count && n < PROTO_SIMILAR_MAX; i++) {
		const proto_similar *e = &set->entries[i];
		size_t b = strlen(e->title) + strlen(e->resolution_note);
		if (bytes + b > PROTO_SIMILAR_BYTES)
			break;
		bytes += b;
		n++;
	}
	*out = n ? &set->entries[first] : NULL;
	*nout = n;
}

void store_similar_free(store_similar_set *set)
{
	if (!set)
		return;
	PQclear(set->res);
	free(set->entries);
	free(set->notes);
	free(set);
}
