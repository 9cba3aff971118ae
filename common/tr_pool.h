/* tr_pool: one bounded FIFO of work items and the threads that take them (the store's
 * ingest writers and query readers are two of these).
 *
 * DESIGN. Threads: `nthreads` workers started by tr_pool_start. Each worker first calls
 * ops->thread_init(arg) for its private state (e.g. its own database connection; NULL
 * is allowed and passed on), then loops: it waits for items, takes up to `batch_max` of
 * them in FIFO order under the pool's one mutex, and calls ops->run(state, items, n,
 * arg) outside the lock. Producers on any thread call tr_pool_put. The queue is a ring
 * of `queue_max` slots: a put into a full or stopping pool is refused.
 * Stopping: tr_pool_stop refuses new items, lets the workers run every item already
 * queued, joins them (ops->thread_fini(state, arg) on each), then frees the pool.
 *
 * Ownership: an item belongs to the pool from a successful tr_pool_put until run() is
 * called with it; run() then owns it. A refused put leaves it with the caller. */
#ifndef TR_POOL_H
#define TR_POOL_H

#include <stddef.h>

typedef struct tr_pool tr_pool;

typedef struct {
	void *(*thread_init)(void *arg);                             /* may be NULL */
	void (*run)(void *state, void **items, size_t n, void *arg); /* n >= 1 */
	void (*thread_fini)(void *state, void *arg);                 /* may be NULL */
} tr_pool_ops;

/* Starts the workers. nthreads, batch_max and queue_max are at least 1. *out is set
 * only on TR_OK; otherwise every thread started is stopped again. ops must outlive it. */
int tr_pool_start(const tr_pool_ops *ops, void *arg, size_t nthreads, size_t batch_max,
		  size_t queue_max, tr_pool **out);

/* Queues item (not NULL) for a worker. TR_OK, or TR_ERR_UNAVAILABLE when the pool is
 * stopping or its queue is full (the caller still owns item). Any thread. */
int tr_pool_put(tr_pool *p, void *item);

/* Queues n items at once, in order, with one wake-up (a worker then takes them
 * together): all of them, or none with TR_ERR_UNAVAILABLE as tr_pool_put. */
int tr_pool_put_all(tr_pool *p, void *const *items, size_t n);

/* Items queued and not yet taken by a worker. */
size_t tr_pool_queued(tr_pool *p);

/* Refuses new items, runs the queued ones, joins the workers and frees p. NULL is a
 * no-op. Not from a worker of p. */
void tr_pool_stop(tr_pool *p);

#endif
