/* gw_limit: token buckets and in-flight counters by name, in an open-addressed table
 * with bounded probing and least-recently-seen eviction. */
#include "gw_limit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GW_LIMIT_PROBE 8

typedef struct {
	char name[GW_LIMIT_NAME_MAX];
	bool used;
	double tokens;
	int64_t seen_ms;
	long inflight;
} gw_limit_entry;

struct gw_limit {
	double rate, burst;
	size_t slots;
	pthread_mutex_t lock;
	gw_limit_entry *e;
};

gw_limit *gw_limit_new(double rate, double burst, size_t slots)
{
	gw_limit *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->e = calloc(slots, sizeof *l->e);
	if (!l->e) {
		free(l);
		return NULL;
	}
	l->rate = rate;
	l->burst = burst < 1 ? 1 : burst;
	l->slots = slots;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void gw_limit_free(gw_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->e);
	free(l);
}

static size_t gw_limit_hash(const char *s)
{
	size_t h = 1469598103934665603u; /* FNV-1a: a table index, not a security boundary */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The entry for name, created (evicting the stalest idle one probed) if needed; NULL
 * if every probed entry is busy. Called with the lock held. */
static gw_limit_entry *gw_limit_find(gw_limit *l, const char *name, int64_t now_ms)
{
	size_t h = gw_limit_hash(name);
	gw_limit_entry *victim = NULL;
	for (size_t i = 0; i < GW_LIMIT_PROBE; i++) {
		gw_limit_entry *e = &l->e[(h + i) % l->slots];
		if (e->used && strncmp(e->name, name, sizeof e->name) == 0)
			return e;
		if (e->inflight > 0)
			continue;
		if (!victim || !e->used || (victim->used && e->seen_ms < victim->seen_ms))
			victim = e;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof *victim);
	victim->used = true;
	strncpy(victim->name, name, sizeof victim->name - 1);
	victim->tokens = l->burst;
	victim->seen_ms = now_ms;
	return victim;
}

static long gw_limit_bucket(gw_limit *l, const char *name, int64_t now_ms, bool take)
{
	if (l->rate <= 0)
		return 0;
	long wait = 0;
	pthread_mutex_lock(&l->lock);
	gw_limit_entry *e = gw_limit_find(l, name, now_ms);
	if (e) {
		double t = e->tokens + (double)(now_ms - e->seen_ms) * l->rate / 1000.0;
		e->tokens = t > l->burst ? l->burst : t;
		e->seen_ms = now_ms;
		if (e->tokens >= 1.0) {
			if (take)
				e->tokens -= 1.0;
		} else {
			wait = (long)ceil((1.0 - e->tokens) / l->rate);
			if (wait < 1)
				wait = 1;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return wait;
}

long gw_limit_take(gw_limit *l, const char *name, int64_t now_ms)
{
	return gw_limit_bucket(l, name, now_ms, true);
}

long gw_limit_peek(gw_limit *l, const char *name, int64_t now_ms)
{
	return gw_limit_bucket(l, name, now_ms, false);
}

bool gw_limit_acquire(gw_limit *l, const char *name, long max)
{
	bool ok = false;
	pthread_mutex_lock(&l->lock);
	gw_limit_entry *e = gw_limit_find(l, name, 0);
	if (e && e->inflight < max) {
		e->inflight++;
		ok = true;
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void gw_limit_release(gw_limit *l, const char *name)
{
	pthread_mutex_lock(&l->lock);
	gw_limit_entry *e = gw_limit_find(l, name, 0);
	if (e && e->inflight > 0)
		e->inflight--;
	pthread_mutex_unlock(&l->lock);
}
