/* store_enrichers: the heartbeat table and the dispatch credits (see the header). */
#include "store_enrichers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "store_json.h"

#define STORE_SLOTS_MAX 4096 /* a heartbeat claiming more slots is clamped */

typedef struct {
	char id[PROTO_SHORT_MAX + 1];
	char backend[32];
	long slots, busy;
	long charged;     /* jobs attributed since the last heartbeat */
	int64_t seen_ms;
} store_enricher;

struct store_enrichers {
	pthread_mutex_t lock;
	long expire_ms;
	store_enricher *list;
	size_t n;
};

store_enrichers *store_enrichers_new(long expire_ms)
{
	store_enrichers *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->list = calloc(STORE_ENRICHERS_MAX, sizeof(*e->list));
	if (!e->list) {
		free(e);
		return NULL;
	}
	pthread_mutex_init(&e->lock, NULL);
	e->expire_ms = expire_ms;
	return e;
}

void store_enrichers_free(store_enrichers *e)
{
	if (!e)
		return;
	pthread_mutex_destroy(&e->lock);
	free(e->list);
	free(e);
}

/* Drops the silent ones; with the lock held. */
static void store_enrichers_expire(store_enrichers *e, int64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (now_ms - e->list[i].seen_ms <= e->expire_ms)
			e->list[k++] = e->list[i];
	}
	e->n = k;
}

static long store_clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static long store_free_of(const store_enricher *en)
{
	long f = en->slots - en->busy - en->charged;
	return f > 0 ? f : 0;
}

bool store_enrichers_heartbeat(store_enrichers *e, const char *id, const char *backend,
			       int32_t slots, int32_t busy, int64_t now_ms)
{
	bool has_free = false;
	if (!id || !*id)
		return false;
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	store_enricher *en = NULL;
	for (size_t i = 0; i < e->n && !en; i++) {
		if (strcmp(e->list[i].id, id) == 0)
			en = &e->list[i];
	}
	if (!en && e->n < STORE_ENRICHERS_MAX) {
		en = &e->list[e->n++];
		memset(en, 0, sizeof(*en));
		snprintf(en->id, sizeof(en->id), "%s", id);
	}
	if (en) {
		snprintf(en->backend, sizeof(en->backend), "%s", backend ? backend : "");
		en->slots = store_clamp(slots, 0, STORE_SLOTS_MAX);
		en->busy = store_clamp(busy, 0, STORE_SLOTS_MAX);
		en->charged = 0;
		en->seen_ms = now_ms;
		has_free = store_free_of(en) > 0;
	}
	pthread_mutex_unlock(&e->lock);
	return has_free;
}

long store_enrichers_credits(store_enrichers *e, int64_t now_ms)
{
	long total = 0;
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	for (size_t i = 0; i < e->n; i++)
		total += store_free_of(&e->list[i]);
	pthread_mutex_unlock(&e->lock);
	return total;
}

void store_enrichers_charge(store_enrichers *e, long n, int64_t now_ms)
{
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	while (n > 0) {
		store_enricher *best = NULL;
		for (size_t i = 0; i < e->n; i++) {
			if (!best || store_free_of(&e->list[i]) > store_free_of(best))
				best = &e->list[i];
		}
		if (!best || store_free_of(best) == 0)
			break;
		best->charged++;
		n--;
	}
	pthread_mutex_unlock(&e->lock);
}

void store_enrichers_snapshot(store_enrichers *e, int64_t now_ms, long *active, long *slots,
			      long *busy, char *backends, size_t blen)
{
	store_buf b;
	store_buf_init(&b, blen);
	store_buf_array_open(&b);
	*active = *slots = *busy = 0;
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	for (size_t i = 0; i < e->n; i++) {
		const store_enricher *en = &e->list[i];
		(*active)++;
		*slots += en->slots;
		*busy += en->busy;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(e->list[j].backend, en->backend) == 0;
		if (!seen && en->backend[0])
			store_buf_array_item(&b, en->backend);
	}
	pthread_mutex_unlock(&e->lock);
	store_buf_array_close(&b);
	snprintf(backends, blen, "%s", b.failed ? "{}" : b.data);
	store_buf_free(&b);
}
