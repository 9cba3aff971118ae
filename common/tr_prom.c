/* tr_prom: Prometheus text format helpers (see tr_prom.h). */
#include "tr_prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double tr_prom_latency_bounds[TR_PROM_LATENCY_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void tr_prom_header(tr_buf *b, const char *name, const char *type, const char *help)
{
	tr_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tr_prom_label_value(tr_buf *b, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			tr_buf_adds(b, "\\\\");
		else if (*p == '"')
			tr_buf_adds(b, "\\\"");
		else if (*p == '\n')
			tr_buf_adds(b, "\\n");
		else
			tr_buf_add(b, p, 1);
	}
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

void tr_prom_histogram_write(tr_buf *b, const char *name, const char *labels,
			     const tr_prom_histogram *h)
{
	const char *sep = labels && *labels ? "," : "";
	const char *l = labels ? labels : "";
	unsigned long cumulative = 0;
	for (size_t i = 0; i <= TR_PROM_LATENCY_BUCKETS; i++) {
		cumulative += atomic_load(&h->bucket[i]);
		if (i < TR_PROM_LATENCY_BUCKETS)
			tr_buf_addf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, l, sep,
				       tr_prom_latency_bounds[i], cumulative);
		else
			tr_buf_addf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, l, sep,
				       cumulative);
	}
	/* the count is the +Inf bucket read above, so the two always agree */
	tr_buf_addf(b, "%s_sum%s%s%s %.6f\n", name, *l ? "{" : "", l, *l ? "}" : "",
		       (double)atomic_load(&h->sum_us) / 1e6);
	tr_buf_addf(b, "%s_count%s%s%s %lu\n", name, *l ? "{" : "", l, *l ? "}" : "",
		       cumulative);
}

void tr_prom_counter(tr_buf *b, const char *name, const char *help, unsigned long value)
{
	tr_prom_header(b, name, "counter", help);
	tr_buf_addf(b, "%s %lu\n", name, value);
}
