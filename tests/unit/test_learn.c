/* test_learn: the built-in model's library: features, calibration, kNN votes on hand-built
 * neighbours, training on a tiny labelled set, and the binary form (round trip and every
 * kind of damage an untrusted blob can carry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "learn_model.h"
#include "learn_train.h"

static void test_features_sorted_unique_unit_norm(void **state)
{
	(void)state;
	proto_kv labels[] = {{"alertname", "KubePodCrashLooping"}, {"severity", "critical"}};
	learn_input in = {"[FIRING:1] KubePodCrashLooping", "Pod api restarting. Pod api restarting.",
			  "alertmanager", "payments", labels, 2};
	learn_feat f[LEARN_FEATURES_MAX];
	size_t n = learn_features(&in, true, f, LEARN_FEATURES_MAX);
	assert_true(n > 10);
	double norm = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(f[i].index < LEARN_NBUCKETS);
		if (i)
			assert_true(f[i].index > f[i - 1].index);
		norm += (double)f[i].value * f[i].value;
	}
	assert_true(norm > 0.999 && norm < 1.001);
	/* CamelCase is split: "looping" from the alert name is a feature of its own (a word
	 * no cue of the lexicon names, so its only feature) */
	learn_input word = {"looping", "", NULL, NULL, NULL, 0};
	learn_feat w[LEARN_FEATURES_MAX];
	size_t nw = learn_features(&word, false, w, LEARN_FEATURES_MAX);
	assert_int_equal(nw, 1);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= f[i].index == w[0].index;
	assert_true(found);
	/* empty input: no features, no crash */
	learn_input empty = {0};
	assert_int_equal(learn_features(&empty, true, f, LEARN_FEATURES_MAX), 0);
}

/* The features of one title, without subwords. */
static size_t title_features(const char *title, learn_feat *f)
{
	learn_input in = {title, "", NULL, NULL, NULL, 0};
	return learn_features(&in, false, f, LEARN_FEATURES_MAX);
}

static bool same_features(const char *a, const char *b)
{
	learn_feat fa[LEARN_FEATURES_MAX], fb[LEARN_FEATURES_MAX];
	size_t na = title_features(a, fa), nb = title_features(b, fb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (fa[i].index != fb[i].index)
			return false;
	return na > 0;
}

static size_t shared_features(const char *a, const char *b)
{
	learn_feat fa[LEARN_FEATURES_MAX], fb[LEARN_FEATURES_MAX];
	size_t na = title_features(a, fa), nb = title_features(b, fb), shared = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			shared += fa[i].index == fb[j].index;
	return shared;
}

static void test_tokens_of_other_scripts(void **state)
{
	(void)state;
	/* case folds beyond ASCII: Cyrillic, Latin-1, Polish */
	assert_true(same_features("СЕРВЕР НЕДОСТУПЕН", "сервер недоступен"));
	assert_true(same_features("ÉCHEC DU DÉPLOIEMENT", "échec du déploiement"));
	assert_true(same_features("AWARIA ŁĄCZA", "awaria łącza"));
	/* punctuation of any script separates words */
	assert_true(same_features("«disk» full — again…", "disk full again"));
	assert_true(same_features("ディスク、満杯。", "ディスク 満杯"));
	/* Japanese is read as character pairs, so two phrases about the disk share words
	 * (ディス, ィス, スク) although neither has a space */
	assert_true(shared_features("ディスク障害が発生", "本番ディスク容量不足") >= 3);
	assert_int_equal(shared_features("ディスク障害", "ネットワーク遅延"), 0);
	/* a malformed UTF-8 byte is a separator, not a crash */
	assert_true(same_features("disk\xff" "full", "disk full"));
}

static void test_cues_across_languages(void **state)
{
	(void)state;
	/* the lexicon's cues join words of different languages that mean one thing */
	assert_int_equal(shared_features("Datenbank", "database"), 1);
	assert_int_equal(shared_features("база данных", "データベース"), 1);
	assert_int_equal(shared_features("Zertifikat", "certificat"), 1);
	/* a cue of two words needs both, the first at most two words before ("de") */
	assert_int_equal(shared_features("copia de seguridad", "backup"), 1);
	assert_int_equal(shared_features("copia", "backup"), 0);
	/* impact x urgency: "all users" and "down" add their pair, which neither has alone */
	learn_feat f[LEARN_FEATURES_MAX];
	size_t both = title_features("all users down", f), one = title_features("all users", f);
	/* the word "down", the word pair "users down", its urgency cue, impact x urgency */
	assert_true(both == one + 4);
	/* a share written as a percentage is a cue of its size: 97% and 95% share it */
	assert_int_equal(shared_features("97%", "95%"), 1);
	assert_int_equal(shared_features("97%", "5%"), 0);
}

static void test_label_evidence(void **state)
{
	(void)state;
	proto_kv labels[] = {{"Severity", "WARNING"}, {"env", "staging"}, {"status", "resolved"}};
	learn_input in = {"t", "", NULL, NULL, labels, 3};
	int sev, nonprod, prod, resolved;
	learn_label_evidence(&in, &sev, &nonprod, &prod, &resolved);
	assert_int_equal(sev, 2);
	assert_true(nonprod && !prod && resolved);
}

static void test_calibration_is_monotone_and_bounded(void **state)
{
	(void)state;
	double score[200];
	bool right[200];
	for (int i = 0; i < 200; i++) {
		score[i] = i / 200.0;
		right[i] = (i % 10) < (i / 20); /* accuracy rises with the score */
	}
	learn_calib c;
	assert_true(learn_calib_fit(&c, score, right, 200));
	assert_true(c.n >= 2 && c.n <= LEARN_CALIB_MAX);
	double last = -1;
	for (double p = 0; p <= 1.0; p += 0.05) {
		double y = learn_calib_apply(&c, p);
		assert_true(y >= 0 && y <= 1 && y >= last - 1e-9);
		last = y;
	}
	assert_true(learn_calib_apply(&c, 0.02) < 0.2);
	assert_true(learn_calib_apply(&c, 0.98) > 0.8);
	learn_calib none = {0};
	assert_true(learn_calib_apply(&none, 0.37) == 0.37);
}

static void test_knn_votes_from_hand_built_neighbours(void **state)
{
	(void)state;
	double pc[LEARN_NCAT] = {0}, ps[LEARN_NSEV] = {0.1, 0.2, 0.6, 0.1};
	pc[1] = 1.0; /* the model says storage */
	int votes;
	/* no neighbours, unlabelled ones, or weak ones: nothing moves */
	learn_neighbour weak[] = {{0, 6, false, 0.99, 1}, {0, 6, true, 0.2, 2}};
	assert_true(learn_knn_blend(NULL, 0, pc, ps, &votes) == 0 && votes == 0);
	assert_true(learn_knn_blend(weak, 2, pc, ps, &votes) == 0 && votes == 0);
	assert_true(pc[1] == 1.0 && ps[2] == 0.6);
	/* three close human-labelled security/critical neighbours outvote the model */
	learn_neighbour close[] = {{0, 6, true, 0.9, 3}, {0, 6, true, 0.85, 4},
				   {0, 6, true, 0.8, 5}, {3, 1, false, 0.95, 6}};
	assert_true(learn_knn_votes(&close[0]) && !learn_knn_votes(&close[3]) &&
		    !learn_knn_votes(&weak[1]));
	double share = learn_knn_blend(close, 4, pc, ps, &votes);
	assert_int_equal(votes, 3);
	assert_true(share > 0.7 && share <= LEARN_KNN_CAP);
	assert_true(pc[6] > pc[1] && ps[0] > ps[2]);
	double sum = 0;
	for (int i = 0; i < LEARN_NCAT; i++)
		sum += pc[i];
	assert_true(sum > 0.999 && sum < 1.001);
	/* one labelled neighbour weighs less than three */
	double pc2[LEARN_NCAT] = {0}, ps2[LEARN_NSEV] = {0.1, 0.2, 0.6, 0.1};
	pc2[1] = 1.0;
	double one = learn_knn_blend(close, 1, pc2, ps2, &votes);
	assert_true(votes == 1 && one < share && pc2[1] > pc2[6]);
	/* out-of-range labels and scores are ignored */
	learn_neighbour bad[] = {{9, 42, true, 0.9, 7}, {1, 1, true, 7.0, 8}, {-1, -1, true, 0.9, 9}};
	assert_true(learn_knn_blend(bad, 3, pc2, ps2, &votes) == 0 && votes == 0);
}

static learn_example ex(const char *title, const char *desc, int cat, int sev)
{
	return (learn_example){{title, desc, NULL, NULL, NULL, 0}, cat, sev, 1, false};
}

static learn_model *tiny_model(void)
{
	static learn_example set[40];
	for (int i = 0; i < 10; i++) {
		set[4 * i] = ex("disk full on data volume", "the volume is at 100 percent", 1, 1);
		set[4 * i + 1] = ex("replication lag on postgres replica", "replica behind", 2, 2);
		set[4 * i + 2] = ex("tls certificate expired", "browsers refuse the site", 3, 0);
		set[4 * i + 3] = ex("typo on the pricing page", "cosmetic", 4, 3);
	}
	char why[100];
	learn_train_opts o = {.c = 4, .folds = 4};
	learn_model *m = learn_train(set, 40, &o, why, sizeof why);
	assert_non_null(m);
	return m;
}

static void test_training_learns_a_tiny_set(void **state)
{
	(void)state;
	learn_model *m = tiny_model();
	learn_input in = {"Disk full", "data volume at 100 percent", NULL, NULL, NULL, 0};
	learn_prediction p;
	learn_predict(m, &in, NULL, 0, &p);
	assert_int_equal(p.category, 1);
	assert_int_equal(p.severity, 1);
	assert_true(p.confidence >= 0 && p.confidence <= 1);
	/* post-step: a resolved alert is low whatever the text says */
	proto_kv resolved[] = {{"status", "resolved"}};
	in.labels = resolved, in.nlabels = 1;
	learn_predict(m, &in, NULL, 0, &p);
	assert_int_equal(p.severity, 3);
	char why[100];
	assert_null(learn_train(NULL, 0, NULL, why, sizeof why));
	learn_example badlabel = ex("x", "y", 12, 0);
	assert_null(learn_train(&badlabel, 1, NULL, why, sizeof why));
	learn_model_free(m);
}

static void test_rubric_from_responder_labels(void **state)
{
	(void)state;
	static learn_example set[48];
	for (int i = 0; i < 10; i++) {
		set[4 * i] = ex("phishing mail reported, nobody clicked", "blocked sender", 6, 2);
		set[4 * i + 1] = ex("replication lag on postgres replica", "replica behind", 2, 2);
		set[4 * i + 2] = ex("tls certificate expired", "browsers refuse the site", 3, 0);
		set[4 * i + 3] = ex("typo on the pricing page", "cosmetic", 4, 3);
	}
	char why[100];
	learn_train_opts o = {.c = 4, .folds = 4};
	learn_input probe = {"Phishing mail reported", "nobody clicked the link", NULL, NULL, NULL, 0};
	learn_prediction p;
	learn_model *m = learn_train(set, 40, &o, why, sizeof why);
	learn_predict(m, &probe, NULL, 0, &p);
	assert_int_equal(p.category, 6);
	assert_int_equal(p.severity, 2); /* the corpus says medium */
	for (int c = 0; c < LEARN_NCAT; c++) /* no responder labels: no rubric */
		for (int h = 0; h < LEARN_NSEV; h++)
			assert_true(m->rubric[c][h] == 0.0f);
	learn_model_free(m);
	/* this team's responders label security incidents critical */
	static const char *const team[8] = {
		"port scan blocked at the firewall", "failed ssh logins blocked",
		"suspicious oauth consent revoked", "malware quarantined on a laptop",
		"waf blocked injection probes", "unknown device refused by nac",
		"leaked token rotated before use", "phishing link reported by staff"};
	for (int i = 40; i < 48; i++) {
		set[i] = ex(team[i - 40], "contained, nothing got through", 6, 0);
		set[i].history = true;
	}
	m = learn_train(set, 48, &o, why, sizeof why);
	assert_true(m->rubric[6][0] > 1.0f);
	learn_predict(m, &probe, NULL, 0, &p);
	assert_int_equal(p.severity, 0);
	/* another category's severities are left alone */
	learn_input lag = {"replication lag", "replica behind", NULL, NULL, NULL, 0};
	learn_predict(m, &lag, NULL, 0, &p);
	assert_int_equal(p.severity, 2);
	learn_model_free(m);
	/* the same labels from the corpus (not this deployment's) make no rubric */
	for (int i = 40; i < 48; i++)
		set[i].history = false;
	m = learn_train(set, 48, &o, why, sizeof why);
	assert_true(m->rubric[6][0] == 0.0f);
	learn_model_free(m);
}

static void test_binary_form_round_trip_and_damage(void **state)
{
	(void)state;
	learn_model *m = tiny_model();
	m->rubric[2][1] = 1.5f;
	size_t len = 0;
	unsigned char *blob = learn_model_write(m, &len);
	assert_non_null(blob);
	char why[100];
	learn_model *r = learn_model_read(blob, len, why, sizeof why);
	assert_non_null(r);
	assert_memory_equal(r->w_cat, m->w_cat, (size_t)LEARN_NBUCKETS * LEARN_NCAT * sizeof(float));
	assert_memory_equal(r->w_sev, m->w_sev, (size_t)LEARN_NBUCKETS * LEARN_NSEV * sizeof(float));
	assert_memory_equal(&r->cal_joint, &m->cal_joint, sizeof m->cal_joint);
	assert_memory_equal(r->rubric, m->rubric, sizeof m->rubric);
	learn_model_free(r);
	/* every truncation is refused */
	for (size_t cut = 0; cut < len; cut += len / 97 + 1)
		assert_null(learn_model_read(blob, cut, why, sizeof why));
	/* a trailing byte, a wrong magic, a NaN weight, an out-of-order row */
	unsigned char *big = malloc(len + 1);
	memcpy(big, blob, len);
	big[len] = 0;
	assert_null(learn_model_read(big, len + 1, why, sizeof why));
	free(big);
	blob[0] = 'X';
	assert_null(learn_model_read(blob, len, why, sizeof why));
	assert_non_null(strstr(why, "magic"));
	blob[0] = 'T';
	/* a model trained on other features (say, an older build's) is refused */
	size_t features_at = 4 + 4;
	assert_memory_equal(blob + features_at, LEARN_FEATURES_VERSION, strlen(LEARN_FEATURES_VERSION));
	blob[features_at + strlen(LEARN_FEATURES_VERSION) - 1] ^= 1;
	assert_null(learn_model_read(blob, len, why, sizeof why));
	assert_non_null(strstr(why, "features"));
	blob[features_at + strlen(LEARN_FEATURES_VERSION) - 1] ^= 1;
	float nan = __builtin_nanf("");
	size_t bias_at = 4 + 4 + 16 + 8 + 4 + 12;
	float keep;
	memcpy(&keep, blob + bias_at, 4);
	memcpy(blob + bias_at, &nan, 4);
	assert_null(learn_model_read(blob, len, why, sizeof why));
	memcpy(blob + bias_at, &keep, 4);
	/* a rubric offset beyond its bound (the last float of the blob) */
	float huge = 2 * LEARN_RUBRIC_MAX;
	memcpy(&keep, blob + len - 4, 4);
	memcpy(blob + len - 4, &huge, 4);
	assert_null(learn_model_read(blob, len, why, sizeof why));
	memcpy(blob + len - 4, &keep, 4);
	assert_non_null(r = learn_model_read(blob, len, why, sizeof why));
	learn_model_free(r);
	free(blob);
	learn_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_sorted_unique_unit_norm),
		cmocka_unit_test(test_tokens_of_other_scripts),
		cmocka_unit_test(test_cues_across_languages),
		cmocka_unit_test(test_label_evidence),
		cmocka_unit_test(test_calibration_is_monotone_and_bounded),
		cmocka_unit_test(test_knn_votes_from_hand_built_neighbours),
		cmocka_unit_test(test_training_learns_a_tiny_set),
		cmocka_unit_test(test_rubric_from_responder_labels),
		cmocka_unit_test(test_binary_form_round_trip_and_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
