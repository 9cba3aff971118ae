/* store_train: periodic rebuilds of the built-in model.
 *
 * DESIGN: one thread owns one PGconn, the corpus (read once) and the last signature it
 * trained on. Each round: one cheap aggregate over the labelled rows (count and newest
 * change, through a partial index) makes the signature; if the newest stored version was
 * trained on the same signature nothing happens. Otherwise it reads at most
 * TRIAGE_TRAIN_HISTORY_MAX labelled rows (newest first), trains with LIBLINEAR (corpus
 * weight 1, history weight TRIAGE_TRAIN_HISTORY_WEIGHT) and inserts the version unless
 * another store inserted the same signature first. Why a rebuild and not incremental
 * counts: logistic regression has no exact incremental form, a rebuild of a few thousand
 * examples takes seconds on one core, and it runs only when labels changed, at most once
 * per interval, off every request path. The thread is a store_chore (store_chore.c). */
#include "store_train.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn_corpus.h"
#include "learn_train.h"
#include "store_chore.h"
#include "store_db.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define KEEP_VERSIONS 10
#define TRAIN_DB_TIMEOUT_MS 30000 /* one statement of the trainer (a model is ~1 MB) */

struct store_train {
	const store_config *cfg;
	store_chore *chore;
	store_db *db; /* the chore's connection (it frees it) */
	learn_corpus corpus;
	bool corpus_read;
};

/* The labelled rows: a responder overrode severity or category, or (once migration 011
 * adds triage_feedback) confirmed the triage as right. Labels are the effective ones. */
#define LABELLED_OVERRIDE "(severity_override IS NOT NULL OR category_override IS NOT NULL)"
#define LABELLED_FEEDBACK "(severity_override IS NOT NULL OR category_override IS NOT NULL" \
			  " OR triage_feedback = 'right')"
#define SIG_SQL(w) "SELECT count(*) || ':' || coalesce(to_char(max(updated_at), " \
		   "'YYYYMMDDHH24MISSUS'), '') FROM incidents WHERE " w
#define HISTORY_SQL(w) "SELECT title, description, source, service, labels::text," \
		       " coalesce(severity_override, severity), coalesce(category_override, category)" \
		       " FROM incidents WHERE " w " AND coalesce(severity_override, severity) IS NOT NULL" \
		       " AND coalesce(category_override, category) IS NOT NULL" \
		       " ORDER BY updated_at DESC LIMIT $1"

static const char *const sig_sql[2] = {SIG_SQL(LABELLED_OVERRIDE), SIG_SQL(LABELLED_FEEDBACK)};
static const char *const history_sql[2] = {HISTORY_SQL(LABELLED_OVERRIDE),
					   HISTORY_SQL(LABELLED_FEEDBACK)};

static const char store_sql_has_feedback[] =
	"SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema ="
	" current_schema() AND table_name = 'incidents' AND column_name = 'triage_feedback')";

static const char store_sql_newest_sig[] =
	"SELECT history_signature FROM triage_models ORDER BY version DESC LIMIT 1";

static const char store_sql_insert[] =
	"WITH n AS (INSERT INTO triage_models (features, corpus_examples, history_examples,"
	" history_signature, train_ms, model) SELECT $1, $2, $3, $4, $5, decode($6, 'hex')"
	" WHERE coalesce((SELECT history_signature FROM triage_models ORDER BY version DESC"
	" LIMIT 1), '') <> $4 RETURNING version),"
	" d AS (DELETE FROM triage_models WHERE version <= (SELECT version FROM n) - $7)"
	" SELECT version FROM n";

static char *hex_of(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* One history row into ex (strings borrowed from res; labels parsed into kv, whose json
 * document is returned in *doc for the caller to release). */
static bool history_example(PGresult *res, int row, long weight, learn_example *ex,
			    proto_kv *kv, json_t **doc)
{
	int sev = learn_severity_index(PQgetvalue(res, row, 5));
	int cat = learn_category_index(PQgetvalue(res, row, 6));
	if (sev < 0 || cat < 0)
		return false;
	size_t nl = 0;
	*doc = json_loads(PQgetvalue(res, row, 4), 0, NULL);
	const char *k;
	json_t *v;
	if (json_is_object(*doc))
		json_object_foreach(*doc, k, v) {
			if (nl < PROTO_LABELS_MAX && json_is_string(v)) {
				kv[nl].key = (char *)k;
				kv[nl++].value = (char *)json_string_value(v);
			}
		}
	ex->in = (learn_input){PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
			       PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2),
			       PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3), kv, nl};
	ex->severity = sev, ex->category = cat, ex->weight = (int)weight, ex->history = true;
	return true;
}

/* Trains on the corpus and res's rows and stores the version. */
static void train_and_store(store_train *t, PGresult *res, const char *sig)
{
	const store_config *cfg = t->cfg;
	size_t nh = (size_t)PQntuples(res), n = 0;
	learn_example *ex = calloc(t->corpus.n + nh + 1, sizeof *ex);
	proto_kv *kv = calloc(nh * PROTO_LABELS_MAX + 1, sizeof *kv);
	json_t **docs = calloc(nh + 1, sizeof *docs);
	learn_model *m = NULL;
	unsigned char *blob = NULL;
	char *hex = NULL;
	if (!ex || !kv || !docs) {
		tr_error("train: out of memory");
		goto out;
	}
	for (size_t i = 0; i < t->corpus.n; i++)
		ex[n++] = t->corpus.ex[i];
	size_t hist = 0;
	for (size_t i = 0; i < nh; i++)
		if (history_example(res, (int)i, cfg->train_history_weight, &ex[n],
				    &kv[i * PROTO_LABELS_MAX], &docs[i]))
			n++, hist++;
	if (n == 0) {
		tr_debug("train: nothing to learn from yet (no corpus, no labels)");
		goto out;
	}
	int64_t t0 = tr_mono_ms();
	char why[200];
	m = learn_train(ex, n, NULL, why, sizeof why);
	if (!m) {
		tr_warn("train: no model (%s)", why);
		goto out;
	}
	long ms = (long)(tr_mono_ms() - t0);
	size_t len = 0;
	blob = learn_model_write(m, &len);
	hex = blob ? hex_of(blob, len) : NULL;
	if (!hex) {
		tr_error("train: out of memory writing the model");
		goto out;
	}
	char corpus_n[24], hist_n[24], ms_s[24], keep[24];
	snprintf(corpus_n, sizeof corpus_n, "%zu", t->corpus.n);
	snprintf(hist_n, sizeof hist_n, "%zu", hist);
	snprintf(ms_s, sizeof ms_s, "%ld", ms);
	snprintf(keep, sizeof keep, "%d", KEEP_VERSIONS);
	const char *p[] = {LEARN_FEATURES_VERSION, corpus_n, hist_n, sig, ms_s, hex, keep};
	PGresult *ins = NULL;
	if (store_db_exec(t->db, store_sql_insert, 7, p, &ins) != TR_OK)
		goto out;
	if (PQntuples(ins) == 1)
		tr_info("train: model v%s from %zu corpus and %zu labelled incidents in %ld ms "
			"(%zu bytes)", PQgetvalue(ins, 0, 0), t->corpus.n, hist, ms, len);
	else
		tr_info("train: another store stored this history's model first");
	PQclear(ins);
out:
	for (size_t i = 0; docs && i < nh; i++)
		json_decref(docs[i]);
	free(docs);
	free(kv);
	free(ex);
	free(hex);
	free(blob);
	learn_model_free(m);
}

static void train_round(store_train *t)
{
	const store_config *cfg = t->cfg;
	PGresult *res = NULL;
	if (!t->corpus_read) {
		char why[512];
		t->corpus_read = true;
		if (!cfg->corpus_dir[0])
			tr_info("train: no corpus (TRIAGE_CORPUS_DIR is empty): responder labels only");
		else if (learn_corpus_load(cfg->corpus_dir, &t->corpus, why, sizeof why) != 0)
			tr_warn("train: corpus not used: %s", why);
		else
			tr_info("train: corpus of %zu incidents from %s", t->corpus.n, cfg->corpus_dir);
	}
	if (store_db_ensure(t->db) != TR_OK)
		return;
	if (store_db_exec(t->db, store_sql_has_feedback, 0, NULL, &res) != TR_OK)
		return;
	int fb = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (store_db_exec(t->db, sig_sql[fb], 0, NULL, &res) != TR_OK)
		return;
	char sig[200];
	snprintf(sig, sizeof sig, "%s|corpus %zu|%s", LEARN_FEATURES_VERSION, t->corpus.n,
		 PQgetvalue(res, 0, 0));
	PQclear(res);
	if (store_db_exec(t->db, store_sql_newest_sig, 0, NULL, &res) != TR_OK)
		return;
	bool same = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), sig) == 0;
	PQclear(res);
	if (same)
		return;
	char limit[24];
	snprintf(limit, sizeof limit, "%ld", cfg->train_history_max);
	const char *p[] = {limit};
	if (store_db_exec(t->db, history_sql[fb], 1, p, &res) != TR_OK)
		return;
	train_and_store(t, res, sig);
	PQclear(res);
}

static void train_chore_round(void *arg, store_db *db, const atomic_bool *stop)
{
	(void)db; /* the same as t->db */
	(void)stop;
	train_round(arg);
}

int store_train_start(const store_config *cfg, store_train **out)
{
	store_train *t = calloc(1, sizeof *t);
	if (!t)
		return TR_ERR_NOMEM;
	t->cfg = cfg;
	t->db = store_db_new(cfg->database_url, TRAIN_DB_TIMEOUT_MS, "trainer",
			     STORE_DB_DURABLE);
	if (!t->db) {
		free(t);
		return TR_ERR_NOMEM;
	}
	int rc = store_chore_start("trainer", cfg->train_interval_ms, train_chore_round, t, t->db,
				   &t->chore);
	if (rc != TR_OK) {
		store_db_free(t->db);
		free(t);
		return rc;
	}
	*out = t;
	return TR_OK;
}

void store_train_stop(store_train *t)
{
	if (!t)
		return;
	store_chore_stop(t->chore); /* frees t->db */
	learn_corpus_free(&t->corpus);
	free(t);
}
