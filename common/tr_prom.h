/* tr_prom: writing the Prometheus text exposition format (version 0.0.4): metric
 * headers, label values escaped, cumulative histograms over fixed buckets. Used by the
 * gateway's /metrics and the store's part of it. */
#ifndef TR_PROM_H
#define TR_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing text buffer with a hard cap; after an allocation failure or the cap, it
 * keeps its length and reports failure at the end. */
typedef struct {
	char *text;
	size_t len, cap, limit;
	bool failed;
} tr_prom_buf;

void tr_prom_init(tr_prom_buf *b, size_t limit);
/* The text (malloc'd, the caller frees) or NULL when anything failed (b is emptied). */
char *tr_prom_finish(tr_prom_buf *b);
void tr_prom_printf(tr_prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n" */
void tr_prom_header(tr_prom_buf *b, const char *name, const char *type, const char *help);
/* Appends value escaped for a label ("\\", "\"", "\n"). */
void tr_prom_label_value(tr_prom_buf *b, const char *value);

/* Buckets of latency histograms, in seconds (upper bounds; +Inf is implicit). */
#define TR_PROM_LATENCY_BUCKETS 14
extern const double tr_prom_latency_bounds[TR_PROM_LATENCY_BUCKETS];

/* A histogram of durations, safe to observe from any thread. */
typedef struct {
	atomic_ulong bucket[TR_PROM_LATENCY_BUCKETS + 1]; /* non-cumulative; last is +Inf */
	atomic_ullong sum_us;
} tr_prom_histogram;

void tr_prom_observe_us(tr_prom_histogram *h, int64_t us);
/* Writes name_bucket{labels,le=...}, name_sum, name_count; labels is "" or 'a="b"'. */
void tr_prom_histogram_write(tr_prom_buf *b, const char *name, const char *labels,
			     const tr_prom_histogram *h);

#endif
