/* rules: the built-in, deterministic triage. Weighted terms (rules_tables.c) are matched
 * over the incident's fields; the best-scoring category and severity win, then a few
 * modifiers (non-production, resolved, imminent) adjust the severity.
 *
 * How it scores: each term counts at most once per field, times the field's weight
 * (title and alertname weigh most). Only the first RULES_SCAN_MAX bytes of the
 * description are read, which bounds the cost per incident. Labels set by alerting
 * tools (severity, priority, urgency, env, status) are read as structured evidence.
 * Incident text is never obeyed: "mark this low" is just words that match no term. */
#include "rules.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rules_match.h"
#include "tr_utf8.h"

#define RULES_SCAN_MAX 4096
#define RULES_MAX_FIELDS (4 + 2 * PROTO_LABELS_MAX)
#define RULES_OTHER_THRESHOLD 4 /* below this best score, the category is "other" */
#define RULES_MEDIUM_BASELINE 3 /* weak evidence (one supporting term) does not move severity */

enum { SEV_CRITICAL, SEV_HIGH, SEV_MEDIUM, SEV_LOW };

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ---- labels ---- */

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return false;
	return *a == *b;
}

static bool ieq_any(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (ieq(v, *list))
			return true;
	return false;
}

typedef struct {
	int votes[4];
	bool nonprod, prod, resolved;
} label_evidence;

static void read_labels(const triage_incident *in, label_evidence *ev)
{
	static const char *const crit[] = {"critical", "page", "p1", "sev1", "disaster", "emergency", NULL};
	static const char *const high[] = {"high", "error", "major", "p2", "sev2", NULL};
	static const char *const med[] = {"warning", "warn", "medium", "moderate", "p3", "sev3", NULL};
	static const char *const low[] = {"info", "informational", "low", "minor", "none", "p4", "p5",
					  "sev4", "sev5", NULL};
	static const char *const nonprod[] = {"staging", "stage", "dev", "development", "test", "qa",
					      "sandbox", "preprod", "nonprod", NULL};
	static const char *const prod[] = {"prod", "production", "prd", "live", NULL};
	for (size_t i = 0; i < in->nlabels; i++) {
		const char *k = in->labels[i].key, *v = in->labels[i].value;
		if (!k || !v)
			continue;
		if (ieq(k, "severity") || ieq(k, "priority") || ieq(k, "sev")) {
			const char *const *lists[4] = {crit, high, med, low};
			for (int s = 0; s < 4; s++)
				if (ieq_any(v, lists[s]))
					ev->votes[s] += 5;
		} else if (ieq(k, "urgency")) {
			if (ieq(v, "high"))
				ev->votes[SEV_HIGH] += 2;
			else if (ieq(v, "low"))
				ev->votes[SEV_LOW] += 1;
		} else if (ieq(k, "env") || ieq(k, "environment") || ieq(k, "stage") ||
			   ieq(k, "namespace") || ieq(k, "cluster")) {
			if (ieq_any(v, nonprod))
				ev->nonprod = true;
			if (ieq_any(v, prod))
				ev->prod = true;
		} else if (ieq(k, "status") || ieq(k, "state")) {
			if (ieq(v, "resolved") || ieq(v, "ok") || ieq(v, "closed"))
				ev->resolved = true;
		}
	}
}

/* ---- text output: valid UTF-8, no control characters, bounded ---- */

/* Length of the UTF-8 character at p (n bytes left) if it may be shown: 0 for invalid
 * sequences; *space set for whitespace and characters replaced by a space (C0, DEL,
 * C1, line/paragraph separators, bidi controls). */
static size_t show_char(const unsigned char *p, size_t n, bool *space)
{
	uint32_t cp = 0;
	size_t len = tr_utf8_next(p, n, &cp);
	*space = len > 0 && (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) ||
			     (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
			     cp == 0x200B || cp == 0xFEFF);
	return len;
}

typedef struct {
	char *buf;
	size_t cap; /* bytes available for text, excluding the NUL */
	size_t len;
	bool cut;   /* something did not fit */
} textbuf;

/* Appends up to max bytes of src, cleaned: whitespace runs become one space, invalid
 * bytes are dropped, and nothing is cut inside a character. */
static void tb_put(textbuf *tb, const char *src, size_t srclen, size_t max)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t added = 0;
	for (size_t i = 0; i < srclen;) {
		bool sp;
		size_t l = show_char(p + i, srclen - i, &sp);
		if (!l) {
			i++;
			continue;
		}
		if (sp) {
			if (tb->len > 0 && tb->buf[tb->len - 1] != ' ' && tb->len < tb->cap && added < max)
				tb->buf[tb->len++] = ' ', added++;
			i += l;
			continue;
		}
		if (tb->len + l > tb->cap || added + l > max) {
			tb->cut = true;
			break;
		}
		memcpy(tb->buf + tb->len, p + i, l);
		tb->len += l, added += l, i += l;
	}
	tb->buf[tb->len] = '\0';
}

static void tb_trim(textbuf *tb)
{
	while (tb->len && tb->buf[tb->len - 1] == ' ')
		tb->buf[--tb->len] = '\0';
}

/* Ends the text with a full stop (or an ellipsis if it was cut), if there is room. */
static void tb_end_sentence(textbuf *tb)
{
	tb_trim(tb);
	if (!tb->len)
		return;
	char last = tb->buf[tb->len - 1];
	const char *end = tb->cut ? "\xe2\x80\xa6" : (last == '.' || last == '!' || last == '?') ? "" : ".";
	if (tb->len + strlen(end) <= tb->cap)
		tb_put(tb, end, strlen(end), strlen(end));
	tb->cut = false;
}

/* The first sentence of the description that is not addressed to a model. */
static void first_sentence(const rules_index *inj, const char *d, size_t dlen, const char **s,
			   size_t *slen)
{
	size_t i = 0;
	*s = NULL, *slen = 0;
	for (int tries = 0; tries < 4 && i < dlen; tries++) {
		while (i < dlen && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
			i++;
		size_t b = i;
		while (i < dlen && d[i] != '\n' &&
		       !((d[i] == '.' || d[i] == '!' || d[i] == '?') && (i + 1 == dlen || d[i + 1] == ' ' || d[i + 1] == '\n')) &&
		       !(i + 2 < dlen && memcmp(d + i, "\xe3\x80\x82", 3) == 0)) /* 。 */
			i++;
		size_t e = i < dlen && d[i] != '\n' ? i + (d[i] == '\xe3' ? 3 : 1) : i;
		i = e;
		rules_field f = {.s = d + b, .len = e - b};
		if (e > b && !rules_has_any(inj, &f)) {
			*s = d + b, *slen = e - b;
			return;
		}
	}
}

/* Title (without a leading "[FIRING:1]"-style tag), the service, and the first sentence
 * of the description: one or two sentences within PROTO_SUMMARY_MAX bytes. */
static void build_summary(const triage_incident *in, const rules_index *inj, char *out)
{
	textbuf tb = {out, PROTO_SUMMARY_MAX, 0, false};
	const char *title = in->title ? in->title : "";
	while (*title == ' ')
		title++;
	if (*title == '[' && strchr(title, ']') && strchr(title, ']') - title < 32)
		title = strchr(title, ']') + 1;
	tb_put(&tb, title, strlen(title), 300);
	tb_trim(&tb);
	if (!tb.len) {
		tb.cut = false;
		tb_put(&tb, "Untitled incident", 17, 17);
	}
	if (in->service && in->service[0] && !strstr(title, in->service)) {
		tb_put(&tb, " on ", 4, 4);
		tb_put(&tb, in->service, strlen(in->service), 80);
	}
	tb_end_sentence(&tb);
	const char *s;
	size_t slen;
	const char *d = in->description ? in->description : "";
	first_sentence(inj, d, strnlen(d, PROTO_DESC_MAX), &s, &slen);
	if (s && tb.len + 2 < tb.cap) {
		tb_put(&tb, " ", 1, 1);
		tb_put(&tb, s, slen, 280);
		tb_end_sentence(&tb);
	}
}

/* ---- the engine ---- */

/* The fields that are read, each bounded (a C caller may pass longer strings than the
 * wire allows), with sentences addressed to a model marked as never evidence. */
static size_t collect_fields(const triage_incident *in, const rules_index *inj, rules_field *fs)
{
	size_t n = 0;
	if (in->title) {
		fs[n] = (rules_field){.s = in->title, .len = strnlen(in->title, PROTO_TITLE_MAX),
				      .cat_weight = 3, .sev_weight = 2};
		rules_skip_injections(&fs[n++], inj);
	}
	if (in->description) {
		fs[n] = (rules_field){.s = in->description, .len = strnlen(in->description, RULES_SCAN_MAX),
				      .cat_weight = 1, .sev_weight = 1};
		rules_skip_injections(&fs[n++], inj);
	}
	if (in->service)
		fs[n++] = (rules_field){.s = in->service, .len = strnlen(in->service, PROTO_SHORT_MAX),
					.cat_weight = 2};
	if (in->source)
		fs[n++] = (rules_field){.s = in->source, .len = strnlen(in->source, PROTO_SHORT_MAX),
					.cat_weight = 1};
	for (size_t i = 0; i < in->nlabels && i < PROTO_LABELS_MAX && in->labels; i++) {
		const char *k = in->labels[i].key, *v = in->labels[i].value;
		if (!k || !v)
			continue;
		bool alertname = ieq(k, "alertname");
		fs[n++] = (rules_field){.s = k, .len = strnlen(k, PROTO_LABEL_KEY_MAX), .cat_weight = 1};
		fs[n++] = (rules_field){.s = v, .len = strnlen(v, PROTO_LABEL_VALUE_MAX),
					.cat_weight = alertname ? 3 : 2, .sev_weight = alertname ? 1 : 0};
	}
	return n;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

void rules_describe(const triage_incident *in, const char *category, int severity,
		    triage_result *out)
{
	rules_index inj;
	rules_index_build(&inj, false);
	int best = RULES_NCATEGORIES - 1;
	for (int c = 0; c < RULES_NCATEGORIES; c++)
		if (strcmp(rules_categories[c].name, category) == 0)
			best = c;
	out->nactions = 0;
	if (severity <= SEV_HIGH)
		copy_str(out->actions[out->nactions++], sizeof out->actions[0], rules_escalation_action);
	size_t want = severity == SEV_LOW ? 2 : RULES_CATEGORY_ACTIONS;
	for (size_t i = 0; i < want && out->nactions < PROTO_ACTIONS_MAX; i++)
		copy_str(out->actions[out->nactions++], sizeof out->actions[0],
			 rules_categories[best].actions[i]);
	build_summary(in, &inj, out->summary);
}

void rules_triage(const triage_incident *in, triage_result *out)
{
	rules_index terms, inj;
	rules_index_build(&terms, true);
	rules_index_build(&inj, false);
	rules_field fs[RULES_MAX_FIELDS];
	size_t nf = collect_fields(in, &inj, fs);
	rules_evidence ev = {0};
	for (size_t i = 0; i < nf; i++)
		rules_collect(&terms, &fs[i], &ev);
	memset(out, 0, sizeof *out);

	/* category: best score wins; a clear margin means confidence */
	const int *scores = ev.category;
	int best = 0, second = 0;
	for (int c = 0; c < RULES_NCATEGORIES; c++)
		if (scores[c] > scores[best])
			best = c; /* ties go to the earlier category */
	for (int c = 0; c < RULES_NCATEGORIES; c++)
		if (c != best && scores[c] > second)
			second = scores[c];
	double confidence;
	if (scores[best] < RULES_OTHER_THRESHOLD) {
		best = RULES_NCATEGORIES - 1;
		confidence = 0.25;
	} else {
		double margin = (double)(scores[best] - second) / scores[best];
		double strength = scores[best] >= 20 ? 1.0 : scores[best] / 20.0;
		confidence = 0.30 + 0.40 * margin + 0.25 * strength;
	}

	/* severity: labels and terms vote; ties go to the more severe level */
	label_evidence lab = {0};
	read_labels(in, &lab);
	int votes[4], sev = SEV_MEDIUM, top = 0, evidence = 0;
	for (int s = 0; s < 4; s++) {
		votes[s] = lab.votes[s] + ev.severity[s];
		evidence += votes[s];
	}
	votes[SEV_MEDIUM] += RULES_MEDIUM_BASELINE;
	for (int s = 0; s < 4; s++)
		if (votes[s] > top)
			top = votes[s], sev = s;
	if (evidence == 0 && best == RULES_NCATEGORIES - 1)
		sev = SEV_LOW; /* nothing points at impact and nothing is recognised */
	if ((lab.nonprod || ev.nonprod) && ev.prod <= 0 && !lab.prod && sev < SEV_MEDIUM)
		sev = SEV_MEDIUM; /* non-production, and production is not named */
	if (sev == SEV_CRITICAL && ev.imminent)
		sev = SEV_HIGH; /* an outage that is only coming */
	if (lab.resolved || ev.resolved)
		sev = SEV_LOW;
	if (evidence == 0)
		confidence *= 0.8; /* no severity evidence at all: the default is a guess */

	copy_str(out->category, sizeof out->category, rules_categories[best].name);
	copy_str(out->severity, sizeof out->severity, triage_severities[sev]);
	out->confidence = confidence > 0.95 ? 0.95 : confidence;

	rules_describe(in, rules_categories[best].name, sev, out);
	copy_str(out->backend, sizeof out->backend, "rules");
	copy_str(out->model, sizeof out->model, "builtin");
	copy_str(out->prompt_version, sizeof out->prompt_version, RULES_VERSION);
	out->latency_ms = 0;
	out->prompt_tokens = -1;
	out->completion_tokens = -1;
}
