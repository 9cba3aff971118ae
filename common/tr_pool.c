/* tr_pool: a bounded FIFO and its worker threads (see tr_pool.h for the threads and
 * who owns what). */
#include "tr_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tr_err.h"

struct tr_pool {
	const tr_pool_ops *ops;
	void *arg;
	size_t batch_max;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void **ring; /* queue_max slots, under lock */
	size_t cap, head, count;
	bool stopping;
	pthread_t *threads;
	size_t nthreads;
	void **batches; /* nthreads * batch_max: each worker's own slice */
	size_t next_slice; /* under lock: which slice the next worker takes */
};

static void *tr_pool_worker(void *arg)
{
	tr_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	void **items = p->batches + p->next_slice++ * p->batch_max;
	pthread_mutex_unlock(&p->lock);
	void *state = p->ops->thread_init ? p->ops->thread_init(p->arg) : NULL;
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		while (p->count > 0 && n < p->batch_max) {
			items[n++] = p->ring[p->head];
			p->head = (p->head + 1) % p->cap;
			p->count--;
		}
		pthread_mutex_unlock(&p->lock);
		if (n == 0)
			break; /* stopping, and nothing left */
		p->ops->run(state, items, n, p->arg);
	}
	if (p->ops->thread_fini)
		p->ops->thread_fini(state, p->arg);
	return NULL;
}

static void tr_pool_free(tr_pool *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p->batches);
	free(p->threads);
	free(p);
}

int tr_pool_start(const tr_pool_ops *ops, void *arg, size_t nthreads, size_t batch_max,
		  size_t queue_max, tr_pool **out)
{
	if (!ops || !ops->run || nthreads == 0 || batch_max == 0 || queue_max == 0)
		return TR_ERR_INVALID;
	tr_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return TR_ERR_NOMEM;
	p->ops = ops;
	p->arg = arg;
	p->batch_max = batch_max;
	p->cap = queue_max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->ring = calloc(queue_max, sizeof(void *));
	p->batches = calloc(nthreads * batch_max, sizeof(void *));
	p->threads = calloc(nthreads, sizeof(pthread_t));
	if (!p->ring || !p->batches || !p->threads) {
		tr_pool_free(p);
		return TR_ERR_NOMEM;
	}
	for (; p->nthreads < nthreads; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, tr_pool_worker, p) != 0) {
			tr_pool_stop(p);
			return TR_ERR_INTERNAL;
		}
	}
	*out = p;
	return TR_OK;
}

int tr_pool_put(tr_pool *p, void *item)
{
	return tr_pool_put_all(p, &item, 1);
}

int tr_pool_put_all(tr_pool *p, void *const *items, size_t n)
{
	int rc = TR_ERR_UNAVAILABLE;
	pthread_mutex_lock(&p->lock);
	if (!p->stopping && n <= p->cap - p->count) {
		for (size_t i = 0; i < n; i++)
			p->ring[(p->head + p->count + i) % p->cap] = items[i];
		p->count += n;
		pthread_cond_signal(&p->cond);
		rc = TR_OK;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

size_t tr_pool_queued(tr_pool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->count;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void tr_pool_stop(tr_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	tr_pool_free(p);
}
