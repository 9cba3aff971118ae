/* Unit tests for common/tr_pool: FIFO order, batches up to batch_max, the bound, per-
 * thread state, and a stop that runs every queued item before it returns. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tr_err.h"
#include "tr_pool.h"

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int order[64];
	int norder;
	size_t biggest_batch;
	atomic_int inits, finis;
	bool gate_open; /* run() waits for it: lets the test fill the queue */
	int entered;    /* run() calls that reached the gate */
} harness;

static void *t_init(void *arg)
{
	harness *h = arg;
	atomic_fetch_add(&h->inits, 1);
	return h; /* the state is checked in run */
}

static void t_run(void *state, void **items, size_t n, void *arg)
{
	harness *h = arg;
	assert_ptr_equal(state, h);
	pthread_mutex_lock(&h->mu);
	h->entered++;
	pthread_cond_broadcast(&h->cv);
	while (!h->gate_open)
		pthread_cond_wait(&h->cv, &h->mu);
	if (n > h->biggest_batch)
		h->biggest_batch = n;
	for (size_t i = 0; i < n; i++)
		h->order[h->norder++] = *(int *)items[i];
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void t_fini(void *state, void *arg)
{
	harness *h = arg;
	assert_ptr_equal(state, h);
	atomic_fetch_add(&h->finis, 1);
}

static const tr_pool_ops ops = {t_init, t_run, t_fini};

static void open_gate(harness *h)
{
	pthread_mutex_lock(&h->mu);
	h->gate_open = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void test_fifo_batches_and_stop_drains(void **state)
{
	(void)state;
	harness h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	int v[20];
	tr_pool *p;
	assert_int_equal(tr_pool_start(&ops, &h, 1, 8, 32, &p), TR_OK);
	for (int i = 0; i < 20; i++) {
		v[i] = i;
		assert_int_equal(tr_pool_put(p, &v[i]), TR_OK);
	}
	open_gate(&h);
	tr_pool_stop(p); /* runs everything queued first */
	assert_int_equal(h.norder, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(h.order[i], i); /* one worker: strict FIFO */
	assert_true(h.biggest_batch <= 8);
	assert_true(h.biggest_batch > 1); /* the first batch waited at the gate */
	assert_int_equal(atomic_load(&h.inits), 1);
	assert_int_equal(atomic_load(&h.finis), 1);
}

static void test_bound_refuses_when_full(void **state)
{
	(void)state;
	harness h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	int v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	tr_pool *p;
	assert_int_equal(tr_pool_start(&ops, &h, 1, 1, 3, &p), TR_OK);
	/* the worker takes the first item and blocks at the gate; then 3 fit */
	assert_int_equal(tr_pool_put(p, &v[0]), TR_OK);
	pthread_mutex_lock(&h.mu);
	while (h.entered == 0)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	int accepted = 1;
	for (int i = 1; i < 8; i++)
		accepted += tr_pool_put(p, &v[i]) == TR_OK;
	assert_int_equal(accepted, 4);
	assert_int_equal(tr_pool_queued(p), 3);
	assert_int_equal(tr_pool_put(p, &v[0]), TR_ERR_UNAVAILABLE);
	open_gate(&h);
	tr_pool_stop(p);
	assert_int_equal(h.norder, accepted);
}

static void test_many_workers_run_everything_once(void **state)
{
	(void)state;
	harness h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
		     .gate_open = true};
	int v[64];
	tr_pool *p;
	assert_int_equal(tr_pool_start(&ops, &h, 4, 3, 64, &p), TR_OK);
	for (int i = 0; i < 64; i++) {
		v[i] = i;
		assert_int_equal(tr_pool_put(p, &v[i]), TR_OK);
	}
	tr_pool_stop(p);
	assert_int_equal(h.norder, 64);
	int seen[64] = {0};
	for (int i = 0; i < 64; i++)
		seen[h.order[i]]++;
	for (int i = 0; i < 64; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(atomic_load(&h.inits), 4);
	assert_int_equal(atomic_load(&h.finis), 4);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	tr_pool *p = NULL;
	assert_int_equal(tr_pool_start(&ops, NULL, 0, 1, 1, &p), TR_ERR_INVALID);
	assert_int_equal(tr_pool_start(&ops, NULL, 1, 0, 1, &p), TR_ERR_INVALID);
	assert_int_equal(tr_pool_start(&ops, NULL, 1, 1, 0, &p), TR_ERR_INVALID);
	assert_null(p);
	tr_pool_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_batches_and_stop_drains),
		cmocka_unit_test(test_bound_refuses_when_full),
		cmocka_unit_test(test_many_workers_run_everything_once),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
