/* store_metrics: the store's counters (LLM calls by backend, model and outcome, their
 * latency, ignored results, ingest batch sizes) and the METRICS query, which answers
 * them with the database's figures (incidents by status, severity, category and state;
 * queue depth) and the enrichers' in the Prometheus text format. */
#ifndef STORE_METRICS_H
#define STORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store_query.h"

/* The counters are one registry per process (like a Prometheus client's default
 * registry): a documented global, written from the results and writer threads, read
 * by readers. Every function here is thread-safe. */

/* An enricher's result was applied (it matched the attempt in flight). */
void store_metrics_result(const proto_result *r);

/* A result was ignored: late, duplicate, or for another attempt. */
void store_metrics_result_ignored(void);

/* A group commit of n submits. */
void store_metrics_ingest_batch(size_t n);

/* A gateway's SUBMIT_BATCH of n submits arrived. */
void store_metrics_submit_batch(size_t n);

/* PROTO_OP_METRICS: replies {"text": "<Prometheus text>"}. */
int store_metrics_run(store_reader *r, store_call *call);

#endif
