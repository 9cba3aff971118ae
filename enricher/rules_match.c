/* rules_match: finds the rules engine's weighted terms in incident text and adds up what
 * they say, in one pass over each field (see rules_tables.h for how a term matches). */
#include "rules_match.h"

#include <string.h>

/* The tables, numbered: categories, then severities (critical .. low), then modifiers. */
enum {
	SET_SEVERITY = RULES_NCATEGORIES,
	SET_NONPROD = SET_SEVERITY + 4,
	SET_PROD,
	SET_PROD_NEG,
	SET_RESOLVED,
	SET_IMMINENT,
	SET_INJECTION,
	SET_COUNT
};

static const rules_termset *set_at(int s)
{
	if (s < SET_SEVERITY)
		return &rules_categories[s].terms;
	if (s < SET_NONPROD)
		return &rules_severity_terms[s - SET_SEVERITY];
	switch (s) {
	case SET_NONPROD: return &rules_nonprod_terms;
	case SET_PROD: return &rules_prod_terms;
	case SET_PROD_NEG: return &rules_prod_negations;
	case SET_RESOLVED: return &rules_resolved_terms;
	case SET_IMMINENT: return &rules_imminent_terms;
	default: return &rules_injection_terms;
	}
}

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
	if (i == 0 || !is_alnum(t[i - 1]))
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

/* True if the word just before i is "not", "no", "never" or ends in "n't". */
static bool negated(const unsigned char *t, size_t i)
{
	static const char *const neg[] = {"not ", "no ", "never ", "n't ", "not yet "};
	for (size_t k = 0; k < sizeof neg / sizeof neg[0]; k++) {
		size_t n = strlen(neg[k]), j;
		if (i < n)
			continue;
		for (j = 0; j < n && lower(t[i - n + j]) == (unsigned char)neg[k][j]; j++)
			;
		if (j == n && (neg[k][1] == '\'' || i == n || !is_alnum(t[i - n - 1])))
			return true;
	}
	return false;
}

static bool skipped(const rules_field *f, size_t i)
{
	for (size_t k = 0; k < f->nskip; k++)
		if (i >= f->skip[k][0] && i < f->skip[k][1])
			return true;
	return false;
}

static bool sentence_end(const char *s, size_t len, size_t i)
{
	return s[i] == '\n' ||
	       ((s[i] == '.' || s[i] == '!' || s[i] == '?') && (i + 1 == len || s[i + 1] == ' '));
}

/* ---- the index ---- */

bool rules_index_build(rules_index *ix, bool all)
{
	uint16_t count[256] = {0};
	bool fits = true;
	ix->n = 0;
	for (int s = all ? 0 : SET_INJECTION; s < (all ? SET_INJECTION : SET_COUNT); s++) {
		const rules_termset *set = set_at(s);
		for (size_t k = 0; k < set->nterms; k++) {
			if (ix->n == RULES_MAX_TERMS) {
				fits = false;
				break;
			}
			ix->set[ix->n] = (uint8_t)s;
			ix->k[ix->n] = (uint16_t)k;
			count[(unsigned char)set->terms[k].term[0]]++;
			ix->n++;
		}
	}
	ix->first[0] = 0;
	for (int b = 0; b < 256; b++)
		ix->first[b + 1] = (uint16_t)(ix->first[b] + count[b]);
	uint16_t fill[256];
	memcpy(fill, ix->first, sizeof fill);
	for (size_t id = 0; id < ix->n; id++) {
		unsigned char b = (unsigned char)set_at(ix->set[id])->terms[ix->k[id]].term[0];
		ix->order[fill[b]++] = (uint16_t)id;
	}
	return fits;
}

/* Calls found(id, at, arg) for every match of an indexed term in f outside the skipped
 * ranges, in text order; stops early when found returns false. A term may start at a
 * word start, or anywhere if its first byte is not alphanumeric ("%", UTF-8). */
static void scan(const rules_index *ix, const rules_field *f,
		 bool (*found)(const rules_index *ix, const rules_field *f, size_t id, size_t at, void *arg),
		 void *arg)
{
	const unsigned char *t = (const unsigned char *)f->s;
	for (size_t i = 0; i < f->len; i++) {
		unsigned char c = lower(t[i]);
		if (ix->first[c] == ix->first[c + 1] || (is_alnum(c) && !word_start(t, f->len, i)))
			continue;
		for (uint16_t j = ix->first[c]; j < ix->first[c + 1]; j++) {
			size_t id = ix->order[j];
			const char *term = set_at(ix->set[id])->terms[ix->k[id]].term;
			if (match_at(t, f->len, i, term) && !skipped(f, i) && !found(ix, f, id, i, arg))
				return;
		}
	}
}

static bool mark_injection(const rules_index *ix, const rules_field *cf, size_t id, size_t at, void *arg)
{
	(void)ix, (void)id, (void)cf;
	rules_field *f = arg;
	if (skipped(f, at))
		return true; /* already inside a marked sentence */
	size_t b = at, e = at;
	while (b > 0 && !sentence_end(f->s, f->len, b - 1))
		b--;
	while (e < f->len && !sentence_end(f->s, f->len, e))
		e++;
	if (f->nskip == RULES_SKIP_MAX) {
		f->skip[RULES_SKIP_MAX - 1][1] = f->len;
		return false;
	}
	f->skip[f->nskip][0] = b;
	f->skip[f->nskip][1] = e < f->len ? e + 1 : e;
	f->nskip++;
	return true;
}

void rules_skip_injections(rules_field *f, const rules_index *ix)
{
	scan(ix, f, mark_injection, f);
}

static bool stop_at_first(const rules_index *ix, const rules_field *f, size_t id, size_t at, void *arg)
{
	(void)ix, (void)f, (void)id, (void)at;
	*(bool *)arg = true;
	return false;
}

bool rules_has_any(const rules_index *ix, const rules_field *f)
{
	bool any = false;
	scan(ix, f, stop_at_first, &any);
	return any;
}

typedef struct {
	rules_evidence *ev;
	uint64_t seen[RULES_MAX_TERMS / 64]; /* terms already counted in this field */
} collect_state;

static bool add_match(const rules_index *ix, const rules_field *f, size_t id, size_t at, void *arg)
{
	collect_state *st = arg;
	int s = ix->set[id];
	bool category = s < SET_SEVERITY;
	if (category ? !f->cat_weight : !f->sev_weight)
		return true;
	bool negatable = !category && s != SET_PROD && s != SET_PROD_NEG && s != SET_IMMINENT;
	if (negatable && negated((const unsigned char *)f->s, at))
		return true;
	if (s == SET_PROD)
		st->ev->prod++;
	else if (s == SET_PROD_NEG)
		st->ev->prod--;
	uint64_t bit = (uint64_t)1 << (id % 64);
	if (st->seen[id / 64] & bit)
		return true;
	st->seen[id / 64] |= bit;
	int w = set_at(s)->terms[ix->k[id]].weight;
	if (category)
		st->ev->category[s] += w * f->cat_weight;
	else if (s < SET_NONPROD)
		st->ev->severity[s - SET_SEVERITY] += w * f->sev_weight;
	else if (s == SET_NONPROD)
		st->ev->nonprod = true;
	else if (s == SET_RESOLVED)
		st->ev->resolved = true;
	else if (s == SET_IMMINENT)
		st->ev->imminent = true;
	return true;
}

void rules_collect(const rules_index *ix, const rules_field *f, rules_evidence *ev)
{
	collect_state st = {.ev = ev};
	scan(ix, f, add_match, &st);
}
