/* tr_prom: Prometheus text format helpers (see tr_prom.h). */
#include "tr_prom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double tr_prom_latency_bounds[TR_PROM_LATENCY_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void tr_prom_init(tr_prom_buf *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	b->limit = limit;
}

static bool tr_prom_reserve(tr_prom_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap > b->limit) {
		b->failed = true;
		return false;
	}
	char *t = realloc(b->text, cap);
	if (!t) {
		b->failed = true;
		return false;
	}
	b->text = t;
	b->cap = cap;
	return true;
}

void tr_prom_printf(tr_prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !tr_prom_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void tr_prom_header(tr_prom_buf *b, const char *name, const char *type, const char *help)
{
	tr_prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tr_prom_label_value(tr_prom_buf *b, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			tr_prom_printf(b, "\\\\");
		else if (*p == '"')
			tr_prom_printf(b, "\\\"");
		else if (*p == '\n')
			tr_prom_printf(b, "\\n");
		else
			tr_prom_printf(b, "%c", *p);
	}
}

char *tr_prom_finish(tr_prom_buf *b)
{
	if (b->failed || !tr_prom_reserve(b, 0)) {
		free(b->text);
		memset(b, 0, sizeof *b);
		return NULL;
	}
	b->text[b->len] = '\0';
	char *t = b->text;
	memset(b, 0, sizeof *b);
	return t;
}

void tr_prom_observe_us(tr_prom_histogram *h, int64_t us)
{
	if (us < 0)
		us = 0;
	double s = (double)us / 1e6;
	size_t i = 0;
	while (i < TR_PROM_LATENCY_BUCKETS && s > tr_prom_latency_bounds[i])
		i++;
	atomic_fetch_add(&h->bucket[i], 1);
	atomic_fetch_add(&h->sum_us, (unsigned long long)us);
}

void tr_prom_histogram_write(tr_prom_buf *b, const char *name, const char *labels,
			     const tr_prom_histogram *h)
{
	const char *sep = labels && *labels ? "," : "";
	const char *l = labels ? labels : "";
	unsigned long cumulative = 0;
	for (size_t i = 0; i <= TR_PROM_LATENCY_BUCKETS; i++) {
		cumulative += atomic_load(&h->bucket[i]);
		if (i < TR_PROM_LATENCY_BUCKETS)
			tr_prom_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, l, sep,
				       tr_prom_latency_bounds[i], cumulative);
		else
			tr_prom_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, l, sep,
				       cumulative);
	}
	/* the count is the +Inf bucket read above, so the two always agree */
	tr_prom_printf(b, "%s_sum%s%s%s %.6f\n", name, *l ? "{" : "", l, *l ? "}" : "",
		       (double)atomic_load(&h->sum_us) / 1e6);
	tr_prom_printf(b, "%s_count%s%s%s %lu\n", name, *l ? "{" : "", l, *l ? "}" : "",
		       cumulative);
}
