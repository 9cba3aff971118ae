/* tr_prom: writing the Prometheus text exposition format (version 0.0.4) into a tr_buf:
 * metric headers, label values escaped, cumulative histograms over fixed buckets. Used
 * by the gateway's /metrics and the store's part of it. */
#ifndef TR_PROM_H
#define TR_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_buf.h"

/* "# HELP name help\n# TYPE name type\n" */
void tr_prom_header(tr_buf *b, const char *name, const char *type, const char *help);
/* A counter without labels: its header and its one line. */
void tr_prom_counter(tr_buf *b, const char *name, const char *help, unsigned long value);
/* Appends value escaped for a label ("\\", "\"", "\n"). */
void tr_prom_label_value(tr_buf *b, const char *value);

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
void tr_prom_histogram_write(tr_buf *b, const char *name, const char *labels,
			     const tr_prom_histogram *h);

#endif
