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

#include "rules_tables.h"

#define RULES_SCAN_MAX 4096
#define RULES_MAX_FIELDS (4 + 2 * PROTO_LABELS_MAX)
#define RULES_OTHER_THRESHOLD 4 /* below this best score, the category is "other" */
#define RULES_MEDIUM_BASELINE 3 /* weak evidence (one supporting term) does not move severity */

enum { SEV_CRITICAL, SEV_HIGH, SEV_MEDIUM, SEV_LOW };

#define RULES_SKIP_MAX 8 /* sentences addressed to a model, per field */

typedef struct {
	const char *s;
	size_t len;
	int cat_weight; /* multiplier for category terms */
	int sev_weight; /* multiplier for severity terms */
	size_t nskip;   /* byte ranges [from, to) that are never evidence */
	size_t skip[RULES_SKIP_MAX][2];
} field;

/* ---- matching ---- */

static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(unsigned char c) { return is_lower(c) || is_upper(c) || is_digit(c); }
static unsigned char lower(unsigned char c) { return is_upper(c) ? (unsigned char)(c + 32) : c; }
static bool is_sep(unsigned char c) { return c == ' ' || c == '-' || c == '_' || c == '/'; }

/* A word starts at i: at the text's start, after a non-alphanumeric byte, or at a
 * camelCase hump ("podCrash", "HTTPServer"). */
static bool word_start(const unsigned char *t, size_t len, size_t i)
{
	if (i == 0)
		return true;
	if (!is_alnum(t[i - 1]))
		return true;
	if (is_lower(t[i - 1]) && is_upper(t[i]))
		return true;
	return is_upper(t[i - 1]) && is_upper(t[i]) && i + 1 < len && is_lower(t[i + 1]);
}

static bool word_end(const unsigned char *t, size_t len, size_t e)
{
	return e == len || !is_alnum(t[e]) || word_start(t, len, e);
}

/* Matches term at t[i..]; returns the end offset, or 0 if it does not match. */
static size_t match_at(const unsigned char *t, size_t len, size_t i, const char *term)
{
	const unsigned char *p = (const unsigned char *)term;
	while (*p && *p != '*') {
		if (*p == ' ' || *p == '-') {
			size_t j = i;
			while (j < len && is_sep(t[j]))
				j++;
			if (j == i && !(i < len && i > 0 && word_start(t, len, i) && is_alnum(t[i - 1])))
				return 0; /* neither a separator nor a camelCase hump */
			i = j;
			p++;
			continue;
		}
		if (i >= len || lower(t[i]) != *p)
			return 0;
		i++;
		p++;
	}
	if (*p != '*' && !word_end(t, len, i))
		return 0;
	return i;
}

/* True if the few words before i say "not", "no", "never" or "n't". */
static bool negated(const unsigned char *t, size_t i)
{
	static const char *const neg[] = {"not ", "no ", "never ", "n't ", "not yet "};
	for (size_t k = 0; k < sizeof neg / sizeof neg[0]; k++) {
		size_t n = strlen(neg[k]);
		if (i < n)
			continue;
		size_t j;
		for (j = 0; j < n && lower(t[i - n + j]) == (unsigned char)neg[k][j]; j++)
			;
		if (j == n && (neg[k][1] == '\'' || i == n || !is_alnum(t[i - n - 1])))
			return true;
	}
	return false;
}

static bool skipped(const field *f, size_t i)
{
	for (size_t k = 0; k < f->nskip; k++)
		if (i >= f->skip[k][0] && i < f->skip[k][1])
			return true;
	return false;
}

/* Offset of the next match of term in f at or after from (f->len if none). */
static size_t next_match(const field *f, const char *term, size_t from)
{
	const unsigned char *t = (const unsigned char *)f->s;
	unsigned char first = (unsigned char)term[0];
	for (size_t i = from; i < f->len; i++)
		if (lower(t[i]) == first && word_start(t, f->len, i) && match_at(t, f->len, i, term))
			return i;
	return f->len;
}

/* Counts the occurrences of term in f, up to max, leaving out those in skipped
 * sentences and (if asked) those negated. */
static int count_term(const field *f, const char *term, bool skip_negated, int max)
{
	int n = 0;
	for (size_t i = next_match(f, term, 0); i < f->len && n < max; i = next_match(f, term, i + 1))
		if (!skipped(f, i) && !(skip_negated && negated((const unsigned char *)f->s, i)))
			n++;
	return n;
}

static bool sentence_end(const char *s, size_t len, size_t i)
{
	return s[i] == '\n' || ((s[i] == '.' || s[i] == '!' || s[i] == '?') && (i + 1 == len || s[i + 1] == ' '));
}

/* Marks the sentences that address a model ("ignore previous instructions", "SYSTEM:")
 * so that nothing in them counts as evidence. Past RULES_SKIP_MAX such sentences, the
 * rest of the field is skipped. */
static void skip_injections(field *f)
{
	const rules_termset *set = &rules_injection_terms;
	for (size_t k = 0; k < set->nterms; k++) {
		for (size_t i = next_match(f, set->terms[k].term, 0); i < f->len;
		     i = next_match(f, set->terms[k].term, i + 1)) {
			if (skipped(f, i))
				continue;
			size_t b = i, e = i;
			while (b > 0 && !sentence_end(f->s, f->len, b - 1))
				b--;
			while (e < f->len && !sentence_end(f->s, f->len, e))
				e++;
			if (f->nskip == RULES_SKIP_MAX) {
				f->skip[RULES_SKIP_MAX - 1][1] = f->len;
				return;
			}
			f->skip[f->nskip][0] = b;
			f->skip[f->nskip][1] = e < f->len ? e + 1 : e;
			f->nskip++;
		}
	}
}

static bool has_term(const field *f, const char *term, bool skip_negated)
{
	return count_term(f, term, skip_negated, 1) > 0;
}

/* Sum over fields and terms of term weight x field weight (category or severity). */
static int score_set(const field *fs, size_t nf, const rules_termset *set, bool severity)
{
	int score = 0;
	for (size_t k = 0; k < set->nterms; k++) {
		for (size_t i = 0; i < nf; i++) {
			int w = severity ? fs[i].sev_weight : fs[i].cat_weight;
			if (w && has_term(&fs[i], set->terms[k].term, severity))
				score += set->terms[k].weight * w;
		}
	}
	return score;
}

static bool any_term(const field *fs, size_t nf, const rules_termset *set, bool skip_negated)
{
	for (size_t k = 0; k < set->nterms; k++)
		for (size_t i = 0; i < nf; i++)
			if (fs[i].sev_weight && has_term(&fs[i], set->terms[k].term, skip_negated))
				return true;
	return false;
}

static int count_set(const field *fs, size_t nf, const rules_termset *set)
{
	int n = 0;
	for (size_t k = 0; k < set->nterms; k++)
		for (size_t i = 0; i < nf; i++)
			if (fs[i].sev_weight)
				n += count_term(&fs[i], set->terms[k].term, false, 64);
	return n;
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
	unsigned c = p[0], cp;
	size_t len;
	*space = false;
	if (c < 0x80) {
		*space = c <= 0x20 || c == 0x7F;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*space = (cp >= 0x80 && cp <= 0xA0) || (cp >= 0x2028 && cp <= 0x202E) ||
		 (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200B || cp == 0xFEFF;
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
static void first_sentence(const char *d, size_t dlen, const char **s, size_t *slen)
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
		field f = {.s = d + b, .len = e - b, .cat_weight = 1, .sev_weight = 1};
		if (e > b && !any_term(&f, 1, &rules_injection_terms, false)) {
			*s = d + b, *slen = e - b;
			return;
		}
	}
}

/* Title (without a leading "[FIRING:1]"-style tag), the service, and the first sentence
 * of the description: one or two sentences within PROTO_SUMMARY_MAX bytes. */
static void build_summary(const triage_incident *in, size_t dlen, char *out)
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
	first_sentence(in->description ? in->description : "", dlen, &s, &slen);
	if (s && tb.len + 2 < tb.cap) {
		tb_put(&tb, " ", 1, 1);
		tb_put(&tb, s, slen, 280);
		tb_end_sentence(&tb);
	}
}

/* ---- the engine ---- */

static size_t collect_fields(const triage_incident *in, field *fs)
{
	size_t n = 0;
	if (in->title) {
		fs[n] = (field){.s = in->title, .len = strlen(in->title), .cat_weight = 3, .sev_weight = 2};
		skip_injections(&fs[n++]);
	}
	if (in->description) {
		fs[n] = (field){.s = in->description, .len = strnlen(in->description, RULES_SCAN_MAX),
				.cat_weight = 1, .sev_weight = 1};
		skip_injections(&fs[n++]);
	}
	if (in->service)
		fs[n++] = (field){.s = in->service, .len = strlen(in->service), .cat_weight = 2};
	if (in->source)
		fs[n++] = (field){.s = in->source, .len = strlen(in->source), .cat_weight = 1};
	for (size_t i = 0; i < in->nlabels && i < PROTO_LABELS_MAX && in->labels; i++) {
		const char *k = in->labels[i].key, *v = in->labels[i].value;
		if (!k || !v)
			continue;
		bool alertname = ieq(k, "alertname");
		fs[n++] = (field){.s = k, .len = strlen(k), .cat_weight = 1};
		fs[n++] = (field){.s = v, .len = strlen(v), .cat_weight = alertname ? 3 : 2,
				  .sev_weight = alertname ? 1 : 0};
	}
	return n;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

void rules_triage(const triage_incident *in, triage_result *out)
{
	field fs[RULES_MAX_FIELDS];
	size_t nf = collect_fields(in, fs);
	memset(out, 0, sizeof *out);

	/* category: best score wins; a clear margin means confidence */
	int scores[RULES_NCATEGORIES];
	int best = 0, second = 0;
	for (int c = 0; c < RULES_NCATEGORIES; c++) {
		scores[c] = score_set(fs, nf, &rules_categories[c].terms, false);
		if (scores[c] > scores[best])
			best = c; /* ties go to the earlier category */
	}
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
		votes[s] = lab.votes[s] + score_set(fs, nf, &rules_severity_terms[s], true);
		evidence += votes[s];
	}
	votes[SEV_MEDIUM] += RULES_MEDIUM_BASELINE;
	for (int s = 0; s < 4; s++)
		if (votes[s] > top)
			top = votes[s], sev = s;
	if (evidence == 0 && best == RULES_NCATEGORIES - 1)
		sev = SEV_LOW; /* nothing points at impact and nothing is recognised */
	int prod = count_set(fs, nf, &rules_prod_terms) - count_set(fs, nf, &rules_prod_negations);
	bool nonprod = lab.nonprod || any_term(fs, nf, &rules_nonprod_terms, true);
	if (nonprod && prod <= 0 && !lab.prod && sev < SEV_MEDIUM)
		sev = SEV_MEDIUM;
	if (sev == SEV_CRITICAL && any_term(fs, nf, &rules_imminent_terms, false))
		sev = SEV_HIGH;
	if (lab.resolved || any_term(fs, nf, &rules_resolved_terms, true))
		sev = SEV_LOW;
	if (evidence == 0)
		confidence *= 0.8; /* no severity evidence at all: the default is a guess */

	copy_str(out->category, sizeof out->category, rules_categories[best].name);
	copy_str(out->severity, sizeof out->severity, triage_severities[sev]);
	out->confidence = confidence > 0.95 ? 0.95 : confidence;

	if (sev <= SEV_HIGH)
		copy_str(out->actions[out->nactions++], sizeof out->actions[0], rules_escalation_action);
	size_t want = sev == SEV_LOW ? 2 : RULES_CATEGORY_ACTIONS;
	for (size_t i = 0; i < want && out->nactions < PROTO_ACTIONS_MAX; i++)
		copy_str(out->actions[out->nactions++], sizeof out->actions[0],
			 rules_categories[best].actions[i]);

	build_summary(in, in->description ? strnlen(in->description, PROTO_DESC_MAX) : 0, out->summary);
	copy_str(out->backend, sizeof out->backend, "rules");
	copy_str(out->model, sizeof out->model, "builtin");
	copy_str(out->prompt_version, sizeof out->prompt_version, RULES_VERSION);
	out->latency_ms = 0;
	out->prompt_tokens = -1;
	out->completion_tokens = -1;
}
