/* gw_conn: connection phases, header/body deadlines and shedding under pressure.
 *
 * DESIGN: MHD's threads report connections opening and closing (gw_conns_notify) and
 * phase changes (gw_conns_phase); one reaper thread wakes every GW_CONN_TICK_MS and
 * shuts down connections past their deadline. All state is under one lock. A tracked
 * socket is closed by MHD only after its CLOSED notification has removed it here,
 * and shutdown(2) is called with the lock held, so a shed never hits a reused fd. */
#include "gw_conn.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

#define GW_CONN_TICK_MS 100

typedef struct gw_conn gw_conn;
struct gw_conn {
	int fd;
	gw_conn_phase phase;
	int64_t since_ms;
	bool shed;
	gw_conn *prev, *next; /* oldest first */
};

struct gw_conns {
	long header_ms, body_ms, high_water;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	pthread_t reaper;
	gw_conn *head, *tail;
	long open;  /* tracked and not shed */
	long total_shed;
	long shed_since_log;
	int64_t last_log_ms;
};

static void gw_conn_shed(gw_conns *cs, gw_conn *c, const char *why)
{
	c->shed = true;
	cs->open--;
	cs->total_shed++;
	cs->shed_since_log++;
	shutdown(c->fd, SHUT_RDWR);
	tr_debug("http: shed connection fd %d (%s)", c->fd, why);
}

static void gw_conn_log(gw_conns *cs, int64_t now)
{
	if (cs->shed_since_log && now - cs->last_log_ms >= 1000) {
		tr_warn("http: shed %ld slow connection(s) (header %ld ms, body %ld ms, "
			"%ld open)", cs->shed_since_log, cs->header_ms, cs->body_ms, cs->open);
		cs->shed_since_log = 0;
		cs->last_log_ms = now;
	}
}

static void *gw_conns_reaper(void *arg)
{
	gw_conns *cs = arg;
	pthread_mutex_lock(&cs->lock);
	while (!cs->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GW_CONN_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cs->cond, &cs->lock, &ts);
		int64_t now = tr_mono_ms();
		for (gw_conn *c = cs->head; c; c = c->next) {
			if (c->shed)
				continue;
			if (c->phase == GW_CONN_HEADERS && now - c->since_ms > cs->header_ms)
				gw_conn_shed(cs, c, "no request header in time");
			else if (c->phase == GW_CONN_BODY && now - c->since_ms > cs->body_ms)
				gw_conn_shed(cs, c, "body not sent in time");
		}
		gw_conn_log(cs, now);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

int gw_conns_start(long header_ms, long body_ms, long high_water, gw_conns **out)
{
	gw_conns *cs = calloc(1, sizeof *cs);
	if (!cs)
		return TR_ERR_NOMEM;
	cs->header_ms = header_ms;
	cs->body_ms = body_ms;
	cs->high_water = high_water;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->cond, NULL);
	if (pthread_create(&cs->reaper, NULL, gw_conns_reaper, cs) != 0) {
		pthread_cond_destroy(&cs->cond);
		pthread_mutex_destroy(&cs->lock);
		free(cs);
		return TR_ERR_INTERNAL;
	}
	*out = cs;
	return TR_OK;
}

void gw_conns_stop(gw_conns *cs)
{
	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stopping = true;
	pthread_cond_signal(&cs->cond);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->reaper, NULL);
	while (cs->head) { /* the daemon is stopped: nothing left is open */
		gw_conn *c = cs->head;
		cs->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&cs->cond);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

static void gw_conns_opened(gw_conns *cs, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	gw_conn *c = calloc(1, sizeof *c);
	if (!c || !ci) {
		free(c);
		return; /* untracked: served, never shed */
	}
	c->fd = ci->connect_fd;
	c->phase = GW_CONN_HEADERS;
	c->since_ms = tr_mono_ms();
	pthread_mutex_lock(&cs->lock);
	c->prev = cs->tail;
	if (cs->tail)
		cs->tail->next = c;
	else
		cs->head = c;
	cs->tail = c;
	cs->open++;
	/* Under pressure, the oldest connections still waiting for a header make room. */
	for (gw_conn *o = cs->head; o && cs->open > cs->high_water; o = o->next) {
		if (!o->shed && o != c && o->phase == GW_CONN_HEADERS)
			gw_conn_shed(cs, o, "too many connections open");
	}
	gw_conn_log(cs, c->since_ms);
	pthread_mutex_unlock(&cs->lock);
	*socket_context = c;
}

static void gw_conns_closed(gw_conns *cs, gw_conn *c)
{
	pthread_mutex_lock(&cs->lock);
	if (!c->shed)
		cs->open--;
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		cs->tail = c->prev;
	pthread_mutex_unlock(&cs->lock);
	free(c);
}

void gw_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		     enum MHD_ConnectionNotificationCode code)
{
	gw_conns *cs = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		gw_conns_opened(cs, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context)
		gw_conns_closed(cs, *socket_context);
}

void gw_conns_phase(gw_conns *cs, struct MHD_Connection *conn, gw_conn_phase phase)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	gw_conn *c = ci ? ci->socket_context : NULL;
	if (!c)
		return;
	pthread_mutex_lock(&cs->lock);
	c->phase = phase;
	c->since_ms = tr_mono_ms();
	pthread_mutex_unlock(&cs->lock);
}

long gw_conns_shed_count(gw_conns *cs)
{
	pthread_mutex_lock(&cs->lock);
	long n = cs->total_shed;
	pthread_mutex_unlock(&cs->lock);
	return n;
}
