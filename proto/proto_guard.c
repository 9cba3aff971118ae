/* proto_guard: the listener and dialer guard (see proto_guard.h for why and how): one
 * thread that watches nng's statistics, reopens a listener that stopped accepting and
 * restarts a dialer that stopped redialing. */
#include "proto_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

typedef struct guard_entry {
	nng_socket sock;
	char *url;
	/* a listener (relisten set) */
	nng_listener lst;
	bool reopen;     /* closed by us, not yet listening again */
	proto_guard_listen_fn relisten;
	uint64_t other;  /* "other errors" last seen */
	int64_t checked_ms; /* when last checked (monotonic) */
	/* a dialer (redial set) */
	nng_dialer dlr;
	proto_guard_dial_fn redial;
	uint64_t attempts;   /* the dialer's outcome counters summed, last seen */
	int64_t moved_ms;    /* when they last moved or a pipe was up (monotonic) */
	struct guard_entry *next;
} guard_entry;

/* The guard's state: one per process, all under mu (documented module state). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* stop was asked */
	pthread_t thread;
	bool running, joinable, stop, no_stats_logged;
	guard_entry *entries;
	unsigned long heals, ticks;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Set by proto_guard_stop before it waits for mu: a tick in progress gives up its
 * checks (each may otherwise take PROTO_GUARD_CHECK_MS) instead of holding up the stop. */
static atomic_bool g_halt;

static void entry_free(guard_entry *e)
{
	free(e->url);
	free(e);
}

static bool sock_open(nng_socket s)
{
	int proto;
	return nng_socket_get_int(s, NNG_OPT_PROTO, &proto) == 0;
}

/* The statistics scope of kind ("listener", "dialer") whose id is id, in the tree from
 * st. Not nng_stat_find_listener/_dialer: in nng 1.5.2 they return the first scope of
 * that kind in the snapshot whatever its id (nng_stat_find_scope recurses through
 * nng_stat_find, by name alone), so in a process with several listeners every entry was
 * read from the oldest one: a broken newer listener went unseen, and a healthy one was
 * reopened over and over (the store's four, each time the oldest saw a failed
 * handshake: each reopening drops its peers' connections). A scope's value is its id,
 * an int in a zeroed 64-bit union: either half, whatever the byte order. */
static nng_stat *stat_find_scope(nng_stat *st, const char *kind, int id)
{
	for (; st; st = nng_stat_next(st)) {
		if (nng_stat_type(st) == NNG_STAT_SCOPE && strcmp(nng_stat_name(st), kind) == 0) {
			uint64_t v = nng_stat_value(st);
			if ((uint32_t)v == (uint32_t)id || (uint32_t)(v >> 32) == (uint32_t)id)
				return st;
		}
		nng_stat *in = stat_find_scope(nng_stat_child(st), kind, id);
		if (in)
			return in;
	}
	return NULL;
}

/* The listener's counter called name, or false when the listener has no statistics
 * (closed, or statistics not compiled in). */
static bool stat_read(nng_listener l, const char *name, uint64_t *out)
{
	nng_stat *snap = NULL;
	bool ok = false;
	if (nng_stats_get(&snap) != 0)
		return false;
	nng_stat *ls = stat_find_scope(snap, "listener", nng_listener_id(l));
	nng_stat *st = ls ? nng_stat_find(ls, name) : NULL;
	if (st) {
		*out = nng_stat_value(st);
		ok = true;
	}
	nng_stats_free(snap);
	return ok;
}

/* A dialer's open pipes and the sum of its outcome counters (each connect attempt ends
 * in exactly one of them); false when it has no statistics (closed, or none compiled). */
static bool dialer_read(nng_dialer d, uint64_t *pipes, uint64_t *attempts)
{
	static const char *const outcomes[] = {"connect", "refused", "disconnect", "canceled",
					       "other",   "timeout", "proto",      "auth",
					       "oom",     "reject"};
	nng_stat *snap = NULL;
	if (nng_stats_get(&snap) != 0)
		return false;
	nng_stat *ds = stat_find_scope(snap, "dialer", nng_dialer_id(d));
	nng_stat *p = ds ? nng_stat_find(ds, "pipes") : NULL;
	if (p) {
		*pipes = nng_stat_value(p);
		*attempts = 0;
		for (size_t i = 0; i < sizeof outcomes / sizeof *outcomes; i++) {
			nng_stat *c = nng_stat_find(ds, outcomes[i]);
			*attempts += c ? nng_stat_value(c) : 0;
		}
	}
	nng_stats_free(snap);
	return p != NULL;
}

/* A connected stream socket to where l listens, or -1 (then the caller reopens). */
static int check_connect(nng_listener l)
{
	nng_sockaddr sa;
	if (nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) != 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (sa.s_family == NNG_AF_IPC) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		if (strlen(sa.s_ipc.sa_path) >= sizeof un->sun_path)
			return -1;
		strcpy(un->sun_path, sa.s_ipc.sa_path);
		len = sizeof *un;
	} else if (sa.s_family == NNG_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = sa.s_in.sa_port; /* both in network order */
		in->sin_addr.s_addr = sa.s_in.sa_addr ? sa.s_in.sa_addr : htonl(INADDR_LOOPBACK);
		len = sizeof *in;
	} else if (sa.s_family == NNG_AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = sa.s_in6.sa_port;
		memcpy(&in6->sin6_addr, sa.s_in6.sa_addr, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
		len = sizeof *in6;
	} else {
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = PROTO_GUARD_CHECK_MS / 1000,
			     .tv_usec = (PROTO_GUARD_CHECK_MS % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The protocol the check speaks to a listener of protocol own: its real peer where a
 * silent peer is harmless (REQ to a REP: never asks; SUB to a PUB: drops what it gets;
 * PUSH to a PULL: never sends), so its pipe comes and goes like any peer's (pipe
 * callbacks see an add and a remove). To a PUSH (jobs) a PULL would be handed a job
 * that dies with the check, so there it speaks PUSH itself: nng accepts, then rejects
 * the pipe as incompatible (callbacks then see only a remove, as for any stranger
 * speaking the wrong protocol). */
static int check_protocol(nng_socket s, int own)
{
	int peer = own;
	if (own != 0x50 /* push0 */ && nng_socket_get_int(s, NNG_OPT_PEER, &peer) != 0)
		peer = own;
	return peer;
}

/* Whether listener e still accepts: a full SP handshake (check_protocol) must move the
 * listener's "accept" counter. tls+tcp:// cannot be checked: reported as broken. When
 * not, *why says which step failed (for the log). */
static bool check_accepting(guard_entry *e, const char **why)
{
	uint64_t before = 0, now = 0;
	int64_t until;
	int proto = 0, own = 0;
	bool ok = false;
	int fd = -1;

	*why = "its transport cannot be checked";
	if (strncmp(e->url, "ipc://", 6) != 0 && strncmp(e->url, "tcp://", 6) != 0)
		return false;
	if (!stat_read(e->lst, "accept", &before) ||
	    nng_socket_get_int(e->sock, NNG_OPT_PROTO, &proto) != 0)
		return true; /* closed meanwhile: the next tick drops it */
	*why = "a connection to it failed";
	if ((fd = check_connect(e->lst)) < 0)
		goto out;
	own = proto;
	proto = check_protocol(e->sock, own);
	unsigned char hdr[8] = {0, 'S', 'P', 0, (unsigned char)(proto >> 8),
				(unsigned char)proto, 0, 0};
	unsigned char peer[8];
	if (send(fd, hdr, sizeof hdr, MSG_NOSIGNAL) != (ssize_t)sizeof hdr)
		goto out;
	size_t got = 0;
	until = tr_mono_ms() + PROTO_GUARD_CHECK_MS;
	*why = "it sent no SP header in time";
	while (got < sizeof peer) {
		if (atomic_load(&g_halt)) {
			ok = true; /* stopping: no verdict, nothing reopened */
			goto out;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = until - tr_mono_ms();
		if (left <= 0)
			goto out;
		if (poll(&pfd, 1, (int)(left < PROTO_GUARD_SLICE_MS ? left : PROTO_GUARD_SLICE_MS)) <= 0)
			continue; /* a slice passed (or EINTR): look at g_halt again */
		ssize_t n = recv(fd, peer + got, sizeof peer - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			*why = "it closed the connection during the handshake";
			goto out;
		}
		if (n > 0)
			got += (size_t)n;
	}
	until = tr_mono_ms() + PROTO_GUARD_CHECK_MS;
	*why = "a handshake completed but its accept counter did not move";
	do {
		if (atomic_load(&g_halt)) {
			ok = true; /* stopping: no verdict, nothing reopened */
			break;
		}
		if (!stat_read(e->lst, "accept", &now)) {
			ok = true; /* closed meanwhile: the next tick drops it */
			break;
		}
		if (now > before) {
			ok = true;
			break;
		}
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL); /* polling nng's counter, bounded by until */
	} while (tr_mono_ms() < until);
out:
	if (fd >= 0) {
		/* nng counts the close of every accepted pipe, ours too, as an "other" error:
		 * wait for ours to be counted and take it as seen, or the next tick would check
		 * again, and that check's close would call for the next, forever. (A check that
		 * spoke the listener's own protocol, to a PUSH, was rejected: no pipe, no count.) */
		uint64_t closed = 0, seen = 0;
		bool counted = ok && proto != own && stat_read(e->lst, "other", &closed);
		close(fd);
		seen = closed;
		until = tr_mono_ms() + PROTO_GUARD_CHECK_MS;
		while (counted && !atomic_load(&g_halt) && tr_mono_ms() < until &&
		       stat_read(e->lst, "other", &seen) && seen == closed) {
			struct timespec ts = {0, 1000000L};
			nanosleep(&ts, NULL); /* polling nng's counter, bounded by until */
		}
		if (counted)
			e->other = seen;
	}
	return ok;
}

/* Closes e's listener and listens again on its URL; why: what the check saw. */
static void reopen(guard_entry *e, const char *why)
{
	if (!e->reopen) {
		nng_listener_close(e->lst);
		e->reopen = true;
	}
	nng_listener nl;
	int rv = e->relisten(e->sock, e->url, &nl);
	if (rv == NNG_ECLOSED)
		return; /* the socket was closed meanwhile: the next tick drops it */
	if (rv != 0) {
		tr_error("proto: guard: listen %s again: %s (retrying)", e->url, nng_strerror(rv));
		return;
	}
	e->lst = nl;
	e->reopen = false;
	e->other = 0;
	e->checked_ms = tr_mono_ms();
	g.heals++;
	tr_warn("proto: listener %s had stopped accepting (%s; a peer closed during the "
		"handshake, nng 1.5.2 bug #1518): reopened it; its peers reconnect",
		e->url, why);
}

/* One look at dialer e (mu held): with no pipe and no connect attempt ending for
 * PROTO_GUARD_DIAL_STALL_MS, it has stopped redialing: closed and started again. */
static void guard_dialer(guard_entry *e, int64_t now)
{
	uint64_t pipes = 0, attempts = 0;
	if (!dialer_read(e->dlr, &pipes, &attempts)) {
		if (!g.no_stats_logged)
			tr_warn("proto: guard: no statistics for dialer %s; not guarded", e->url);
		g.no_stats_logged = true;
		return;
	}
	if (pipes > 0 || attempts != e->attempts) {
		e->attempts = attempts;
		e->moved_ms = now;
		return;
	}
	if (now - e->moved_ms < PROTO_GUARD_DIAL_STALL_MS)
		return;
	nng_dialer nd;
	nng_dialer_close(e->dlr);
	int rv = e->redial(e->sock, e->url, &nd);
	if (rv == NNG_ECLOSED)
		return; /* the socket was closed meanwhile: the next tick drops it */
	e->moved_ms = now; /* a failed redial is tried again after another stall */
	if (rv != 0) {
		tr_error("proto: guard: dial %s again: %s (retrying)", e->url, nng_strerror(rv));
		return;
	}
	e->dlr = nd;
	e->attempts = 0;
	g.heals++;
	tr_warn("proto: dialer %s had stopped redialing (a handshake write failed as the peer "
		"closed, nng 1.5.2): dialing again",
		e->url);
}

/* One look at every listener and dialer (mu held). */
static void guard_tick(void)
{
	int64_t now = tr_mono_ms();
	for (guard_entry **pp = &g.entries; *pp && !atomic_load(&g_halt);) {
		guard_entry *e = *pp;
		uint64_t other = 0;
		if (!sock_open(e->sock)) {
			*pp = e->next;
			entry_free(e);
			continue;
		}
		pp = &e->next;
		if (e->redial) {
			guard_dialer(e, now);
			continue;
		}
		if (e->reopen) {
			reopen(e, "listening again had failed");
			continue;
		}
		if (!stat_read(e->lst, "other", &other)) {
			if (!g.no_stats_logged)
				tr_warn("proto: guard: no statistics for listener %s; not guarded",
					e->url);
			g.no_stats_logged = true;
			continue;
		}
		if (other == e->other && now - e->checked_ms < PROTO_GUARD_RECHECK_MS)
			continue;
		e->other = other;
		e->checked_ms = now;
		const char *why = NULL;
		if (check_accepting(e, &why))
			tr_debug("proto: guard: %s checked (a peer left or a handshake failed): "
				 "still accepts", e->url);
		else
			reopen(e, why);
	}
}

static void *guard_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	while (!g.stop && g.entries) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PROTO_GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g.cv, &g.mu, &until);
		if (!g.stop) {
			guard_tick();
			g.ticks++;
		}
	}
	g.running = false;
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

/* Adds e to the table, starting the thread if it is not running. */
static int guard_add(guard_entry *e)
{
	pthread_mutex_lock(&g.mu);
	if (!g.running) {
		if (g.joinable) { /* the last one ended by itself: reap it */
			pthread_join(g.thread, NULL);
			g.joinable = false;
		}
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_destroy(&g.cv);
		pthread_cond_init(&g.cv, &ca);
		pthread_condattr_destroy(&ca);
		g.stop = false;
		atomic_store(&g_halt, false);
		g.entries = e; /* the thread ends at once with no entries */
		if (pthread_create(&g.thread, NULL, guard_thread, NULL) != 0) {
			g.entries = NULL;
			pthread_mutex_unlock(&g.mu);
			entry_free(e);
			tr_error("proto: guard: cannot start its thread");
			return TR_ERR_INTERNAL;
		}
		g.running = g.joinable = true;
	} else {
		e->next = g.entries;
		g.entries = e;
	}
	pthread_mutex_unlock(&g.mu);
	return TR_OK;
}

/* A new entry for socket s at url, or NULL. */
static guard_entry *entry_new(nng_socket s, const char *url)
{
	guard_entry *e = calloc(1, sizeof *e);
	if (!e || !(e->url = strdup(url))) {
		free(e);
		return NULL;
	}
	e->sock = s;
	e->checked_ms = tr_mono_ms();
	return e;
}

int proto_guard_watch(nng_socket s, nng_listener l, const char *url,
		      proto_guard_listen_fn relisten)
{
	guard_entry *e = entry_new(s, url);
	if (!e)
		return TR_ERR_NOMEM;
	e->lst = l;
	e->relisten = relisten;
	return guard_add(e);
}

int proto_guard_watch_dialer(nng_socket s, nng_dialer d, const char *url,
			     proto_guard_dial_fn redial)
{
	guard_entry *e = entry_new(s, url);
	if (!e)
		return TR_ERR_NOMEM;
	e->dlr = d;
	e->redial = redial;
	e->moved_ms = tr_mono_ms();
	return guard_add(e);
}

/* Stops the thread and forgets every entry; close_listeners: closes each guarded
 * listener first. */
static void guard_end(bool close_listeners)
{
	atomic_store(&g_halt, true); /* a tick in progress stops checking at once */
	pthread_mutex_lock(&g.mu);
	g.stop = true;
	pthread_cond_broadcast(&g.cv);
	bool join = g.joinable;
	g.joinable = false;
	pthread_mutex_unlock(&g.mu);
	if (join)
		pthread_join(g.thread, NULL);
	pthread_mutex_lock(&g.mu);
	while (g.entries) {
		guard_entry *e = g.entries;
		g.entries = e->next;
		if (close_listeners && e->relisten && !e->reopen && sock_open(e->sock))
			nng_listener_close(e->lst);
		entry_free(e);
	}
	pthread_mutex_unlock(&g.mu);
}

void proto_guard_stop(void)
{
	guard_end(false);
}

void proto_guard_close_listeners(void)
{
	guard_end(true);
}

void proto_guard_forget(nng_socket s)
{
	pthread_mutex_lock(&g.mu); /* waits out a check or reopening in progress */
	for (guard_entry **pp = &g.entries; *pp;) {
		guard_entry *e = *pp;
		if (nng_socket_id(e->sock) == nng_socket_id(s)) {
			*pp = e->next;
			entry_free(e);
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&g.mu);
}

unsigned long proto_guard_ticks(void)
{
	pthread_mutex_lock(&g.mu);
	unsigned long n = g.ticks;
	pthread_mutex_unlock(&g.mu);
	return n;
}

unsigned long proto_guard_heals(void)
{
	pthread_mutex_lock(&g.mu);
	unsigned long n = g.heals;
	pthread_mutex_unlock(&g.mu);
	return n;
}
