/* store_enrichers: the ready-message table, the jobs in transit and the exact dispatch
 * credits (see the header). */
#include "store_enrichers.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SLOTS_MAX 4096 /* a heartbeat claiming more slots is clamped */

typedef struct {
	int64_t id;
	int32_t attempt;
	bool running; /* false: finished, its result kept until the store has it */
	bool ours;    /* this store sent it (it was in transit) */
} store_job_ref;

typedef struct {
	char id[PROTO_SHORT_MAX + 1];
	char backend[32];
	int64_t epoch;
	long slots, busy;
	long proven; /* most jobs sent by this store seen held at once (running or done) */
	int64_t seen_ms;
	store_job_ref *held; /* PROTO_HELD_MAX entries */
	size_t nheld;
} store_enricher;

typedef struct {
	int64_t id;
	int32_t attempt;
	int64_t pickup_ms; /* monotonic */
} store_transit;

struct store_enrichers {
	pthread_mutex_t lock;
	long expire_ms;
	store_enricher *list;
	size_t n;
	store_transit *transit;
	size_t ntransit;
	store_job_ref *pending; /* results received, not yet settled (running unused) */
	size_t npending;
};

store_enrichers *store_enrichers_new(long expire_ms)
{
	store_enrichers *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->list = calloc(STORE_ENRICHERS_MAX, sizeof(*e->list));
	e->transit = calloc(STORE_TRANSIT_MAX, sizeof(*e->transit));
	e->pending = calloc(STORE_PENDING_MAX, sizeof(*e->pending));
	if (!e->list || !e->transit || !e->pending) {
		free(e->list);
		free(e->transit);
		free(e->pending);
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
	for (size_t i = 0; i < e->n; i++)
		free(e->list[i].held);
	pthread_mutex_destroy(&e->lock);
	free(e->list);
	free(e->transit);
	free(e->pending);
	free(e);
}

/* Drops the silent enrichers (their jobs are no longer kept) and the transit entries
 * past their pickup deadline; with the lock held. */
static void store_enrichers_expire(store_enrichers *e, int64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (now_ms - e->list[i].seen_ms <= e->expire_ms)
			e->list[k++] = e->list[i];
		else
			free(e->list[i].held);
	}
	e->n = k;
	k = 0;
	for (size_t i = 0; i < e->ntransit; i++) {
		if (e->transit[i].pickup_ms >= now_ms)
			e->transit[k++] = e->transit[i];
	}
	e->ntransit = k;
}

static long store_clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Which live enricher holds the attempt; NULL if none. With the lock held. */
static store_enricher *store_holder(store_enrichers *e, int64_t id, int32_t attempt,
				    store_job_ref **ref)
{
	for (size_t i = 0; i < e->n; i++) {
		store_enricher *en = &e->list[i];
		for (size_t j = 0; j < en->nheld; j++) {
			if (en->held[j].id == id && en->held[j].attempt == attempt) {
				if (ref)
					*ref = &en->held[j];
				return en;
			}
		}
	}
	return NULL;
}

/* Removes a transit entry; true if there was one. With the lock held. */
static bool store_transit_take(store_enrichers *e, int64_t id, int32_t attempt)
{
	for (size_t i = 0; i < e->ntransit; i++) {
		if (e->transit[i].id == id && e->transit[i].attempt == attempt) {
			e->transit[i] = e->transit[--e->ntransit];
			return true;
		}
	}
	return false;
}

/* "incident_id:attempt" or "incident_id:attempt:done". */
static bool store_parse_held(const char *s, store_job_ref *out)
{
	char *end;
	long long id = strtoll(s, &end, 10);
	if (end == s || *end != ':' || id <= 0)
		return false;
	const char *a = end + 1;
	long attempt = strtol(a, &end, 10);
	if (end == a || attempt < 1 || attempt > INT32_MAX)
		return false;
	if (*end != '\0' && strcmp(end, ":done") != 0)
		return false;
	out->id = id;
	out->attempt = (int32_t)attempt;
	out->running = *end == '\0';
	out->ours = false;
	return true;
}

static store_enricher *store_enricher_find(store_enrichers *e, const char *id)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->list[i].id, id) == 0)
			return &e->list[i];
	}
	return NULL;
}

/* The enricher's new held list from the message; with the lock held. */
static void store_enricher_hold(store_enrichers *e, store_enricher *en, const proto_heartbeat *h)
{
	store_job_ref next[PROTO_HELD_MAX];
	size_t n = 0;
	long ours = 0;
	for (size_t i = 0; i < h->nheld && n < PROTO_HELD_MAX; i++) {
		store_job_ref r, *old = NULL;
		if (!h->held[i] || !store_parse_held(h->held[i], &r))
			continue;
		/* most entries were in this enricher's last message: look there first */
		for (size_t j = 0; j < en->nheld && !old; j++) {
			if (en->held[j].id == r.id && en->held[j].attempt == r.attempt)
				old = &en->held[j];
		}
		if (!old && store_holder(e, r.id, r.attempt, NULL))
			continue; /* bound to another enricher: first claim wins */
		r.ours = (old && old->ours) || store_transit_take(e, r.id, r.attempt);
		ours += r.ours;
		next[n++] = r;
	}
	memcpy(en->held, next, n * sizeof(*next));
	en->nheld = n;
	if (ours > en->proven)
		en->proven = ours;
}

bool store_enrichers_heartbeat(store_enrichers *e, const proto_heartbeat *h, int64_t now_ms)
{
	bool wake = false;
	if (!h->enricher_id || !*h->enricher_id)
		return false;
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	store_enricher *en = store_enricher_find(e, h->enricher_id);
	if (en && h->epoch && en->epoch && h->epoch != en->epoch) {
		/* restarted: what the old process held is lost */
		en->nheld = 0;
		en->proven = 0;
		wake = true;
	}
	if (!en && e->n < STORE_ENRICHERS_MAX) {
		store_job_ref *held = malloc(PROTO_HELD_MAX * sizeof(*held));
		if (held) {
			en = &e->list[e->n++];
			memset(en, 0, sizeof(*en));
			snprintf(en->id, sizeof(en->id), "%s", h->enricher_id);
			en->held = held;
		}
	}
	if (en) {
		snprintf(en->backend, sizeof(en->backend), "%s", h->backend ? h->backend : "");
		en->epoch = h->epoch;
		en->slots = store_clamp(h->slots, 0, STORE_SLOTS_MAX);
		en->busy = store_clamp(h->busy, 0, STORE_SLOTS_MAX);
		en->seen_ms = now_ms;
		store_enricher_hold(e, en, h);
		wake = wake || en->busy < en->slots;
	}
	pthread_mutex_unlock(&e->lock);
	return wake;
}

long store_enrichers_credits(store_enrichers *e, int64_t now_ms)
{
	return store_enrichers_credits_of(e, now_ms, NULL);
}

long store_enrichers_credits_of(store_enrichers *e, int64_t now_ms, long *capacity)
{
	long total = 0, unproven = 0, cap_total = 0;
	bool any_proven = false;
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	for (size_t i = 0; i < e->n; i++) {
		const store_enricher *en = &e->list[i];
		any_proven = any_proven || en->proven > 0;
		long cap = en->proven > 0 ? en->proven + 1 : 1;
		if (cap > en->slots)
			cap = en->slots;
		if (en->proven > 0)
			cap_total += cap;
		long f = cap - en->busy;
		if (f <= 0)
			continue;
		if (en->proven > 0)
			total += f;
		else
			unproven += f;
	}
	/* enrichers that never took a job count for one in total, and only while no
	 * enricher has: with a proven one live, a job sent for an unproven claim could as
	 * well wait in a busy enricher's socket */
	if (unproven > 0 && !any_proven) {
		total += 1;
		cap_total += 1;
	}
	total -= (long)e->ntransit;
	if (total > (long)(STORE_TRANSIT_MAX - e->ntransit))
		total = (long)(STORE_TRANSIT_MAX - e->ntransit);
	pthread_mutex_unlock(&e->lock);
	if (capacity)
		*capacity = cap_total;
	return total > 0 ? total : 0;
}

void store_enrichers_sent(store_enrichers *e, int64_t incident_id, int32_t attempt,
			  int64_t pickup_mono_ms)
{
	pthread_mutex_lock(&e->lock);
	if (e->ntransit < STORE_TRANSIT_MAX)
		e->transit[e->ntransit++] =
			(store_transit){.id = incident_id, .attempt = attempt, .pickup_ms = pickup_mono_ms};
	pthread_mutex_unlock(&e->lock);
}

void store_enrichers_unsent(store_enrichers *e, int64_t incident_id, int32_t attempt)
{
	pthread_mutex_lock(&e->lock);
	store_transit_take(e, incident_id, attempt);
	pthread_mutex_unlock(&e->lock);
}

bool store_enrichers_result_ok(store_enrichers *e, int64_t incident_id, int32_t attempt,
			       const char *enricher_id)
{
	pthread_mutex_lock(&e->lock);
	store_enricher *holder = store_holder(e, incident_id, attempt, NULL);
	bool ok = !holder || strcmp(holder->id, enricher_id) == 0;
	pthread_mutex_unlock(&e->lock);
	return ok;
}

void store_enrichers_result_queued(store_enrichers *e, int64_t incident_id, int32_t attempt)
{
	pthread_mutex_lock(&e->lock);
	if (e->npending < STORE_PENDING_MAX)
		e->pending[e->npending++] = (store_job_ref){.id = incident_id, .attempt = attempt};
	pthread_mutex_unlock(&e->lock);
}

void store_enrichers_result_settled(store_enrichers *e, int64_t incident_id, int32_t attempt)
{
	pthread_mutex_lock(&e->lock);
	size_t i = 0;
	while (i < e->npending &&
	       (e->pending[i].id != incident_id || e->pending[i].attempt != attempt))
		i++;
	if (i < e->npending)
		e->pending[i] = e->pending[--e->npending];
	pthread_mutex_unlock(&e->lock);
}

/* One kept job: its id and attempt appended to the two arrays. */
static void store_kept_item(store_buf *ids, store_buf *attempts, int64_t id, int32_t attempt)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, id);
	store_buf_array_item(ids, num);
	snprintf(num, sizeof(num), "%" PRId32, attempt);
	store_buf_array_item(attempts, num);
}

void store_enrichers_kept(store_enrichers *e, int64_t now_ms, store_buf *ids,
			  store_buf *attempts)
{
	store_buf_array_open(ids);
	store_buf_array_open(attempts);
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	for (size_t i = 0; i < e->n; i++)
		for (size_t j = 0; j < e->list[i].nheld; j++)
			store_kept_item(ids, attempts, e->list[i].held[j].id,
					e->list[i].held[j].attempt);
	for (size_t i = 0; i < e->ntransit; i++)
		store_kept_item(ids, attempts, e->transit[i].id, e->transit[i].attempt);
	for (size_t i = 0; i < e->npending; i++)
		store_kept_item(ids, attempts, e->pending[i].id, e->pending[i].attempt);
	pthread_mutex_unlock(&e->lock);
	store_buf_array_close(ids);
	store_buf_array_close(attempts);
}

long store_enrichers_in_transit(store_enrichers *e, int64_t now_ms)
{
	pthread_mutex_lock(&e->lock);
	store_enrichers_expire(e, now_ms);
	long n = (long)e->ntransit;
	pthread_mutex_unlock(&e->lock);
	return n;
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
