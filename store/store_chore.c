/* store_chore: see store_chore.h.
 *
 * DESIGN (threads): one thread per chore, owning the chore's store_db; between rounds it
 * waits on a condition variable (CLOCK_MONOTONIC) so that stop wakes it at once. The
 * stop flag is the only state shared with the caller (mutex for the wait, atomic for
 * rounds that poll it). */
#include "store_chore.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "tr_err.h"
#include "tr_log.h"

struct store_chore {
	long interval_ms;
	store_chore_fn round;
	void *arg;
	store_db *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
};

static void *store_chore_main(void *p)
{
	store_chore *c = p;
	pthread_mutex_lock(&c->mu);
	while (!atomic_load(&c->stop)) {
		pthread_mutex_unlock(&c->mu);
		c->round(c->arg, c->db, &c->stop);
		pthread_mutex_lock(&c->mu);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += c->interval_ms / 1000;
		until.tv_nsec += (c->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!atomic_load(&c->stop) &&
		       pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int store_chore_start(const char *name, long interval_ms, store_chore_fn round, void *arg,
		      store_db *db, store_chore **out)
{
	pthread_condattr_t attr;
	store_chore *c = calloc(1, sizeof *c);
	if (!c)
		return TR_ERR_NOMEM;
	c->interval_ms = interval_ms > 0 ? interval_ms : 1;
	c->round = round;
	c->arg = arg;
	c->db = db;
	atomic_init(&c->stop, false);
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&c->thread, NULL, store_chore_main, c) != 0) {
		tr_error("%s: cannot start its thread", name);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return TR_ERR_INTERNAL;
	}
	*out = c;
	return TR_OK;
}

void store_chore_stop(store_chore *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->stop, true);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	store_db_free(c->db);
	free(c);
}
