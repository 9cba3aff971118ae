/* enr_links: the result/heartbeat sockets, one per store, and the split of the free
 * slots among the connected stores (see the header). */
#include "enr_links.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

/* Messages a store link holds while the store is busy. Not one (proto_sock's PUSH
 * default): a ready message goes out each time a job is taken or finished, without
 * blocking, and with one slot most were dropped behind a result (1,452 in 11 s at 900
 * jobs/s), leaving the store without credit until the next one. What waits here is
 * safe to lose with this process: results are kept (enr_held) and sent again, and a
 * ready message says everything it knows afresh. */
#define ENR_LINK_SENDBUF 128
#define ENR_FLUSH_POLL_MS 5 /* enr_links_flush looks again this often */

typedef struct {
	struct enr_links *owner;
	nng_socket sock;                 /* PUSH, dialing results_url */
	char jobs_url[PROTO_URL_MAX];    /* the same store's job socket */
	char results_url[PROTO_URL_MAX];
	atomic_int pipes;                /* connected now (0 or 1 in practice) */
	atomic_bool came_up;             /* a pipe was added since the last poll */
	_Atomic int64_t came_up_ms;      /* when (monotonic) */
	atomic_int busy;                 /* jobs from this store being worked */
	/* for enr_links_flush: messages the socket took, and those written to the kernel
	 * by pipes now closed (the live pipes' counts are read from nng's statistics) */
	_Atomic uint64_t accepted;
	_Atomic uint64_t written_dead;
	atomic_int dead_pipe;            /* the last pipe closed (still in the statistics) */
} enr_link;

struct enr_links {
	size_t n;
	enr_link link[ENR_LINKS_MAX];
	atomic_bool went_down; /* some link lost its pipe since the last poll */
	_Atomic int64_t went_down_ms; /* when (monotonic) */
	atomic_bool beat_now;  /* a pipe came or went, or a heartbeat was not sent */
	uint64_t rotation;     /* heartbeats so far (enr_links_heartbeat's one caller) */
};

void enr_links_split(long free_slots, uint32_t connected, size_t n, uint64_t rotation,
		     long *shares)
{
	size_t live = 0;
	for (size_t i = 0; i < n; i++) {
		shares[i] = 0;
		live += (connected >> i) & 1u;
	}
	if (live == 0 || free_slots <= 0)
		return;
	long base = free_slots / (long)live;
	size_t extra = (size_t)(free_slots % (long)live);
	size_t first = (size_t)(rotation % live); /* among the connected ones */
	size_t k = 0;                            /* this link's rank among them */
	for (size_t i = 0; i < n; i++) {
		if (!((connected >> i) & 1u))
			continue;
		/* ranks first .. first + extra - 1 (mod live) get one more */
		size_t offset = (k + live - first) % live;
		shares[i] = base + (offset < extra ? 1 : 0);
		k++;
	}
}

int enr_links_check(const char *jobs_urls, const char *results_urls, char *err,
		    size_t errlen)
{
	char url[PROTO_URL_MAX];
	size_t nj = proto_url_count(jobs_urls), nr = proto_url_count(results_urls);
	if (nj != nr) {
		snprintf(err, errlen, "TRIAGE_JOBS_URL names %zu store(s) but TRIAGE_RESULTS_URL "
			 "names %zu: element i of each must be the same store", nj, nr);
		return TR_ERR_INVALID;
	}
	if (nj > ENR_LINKS_MAX) {
		snprintf(err, errlen, "TRIAGE_JOBS_URL and TRIAGE_RESULTS_URL name %zu stores; at "
			 "most %d", nj, ENR_LINKS_MAX);
		return TR_ERR_INVALID;
	}
	for (size_t i = 0; i < nj; i++) {
		const char *bad = proto_url_at(jobs_urls, i, url, sizeof url) != TR_OK ? "TRIAGE_JOBS_URL"
				  : proto_url_at(results_urls, i, url, sizeof url) != TR_OK
					  ? "TRIAGE_RESULTS_URL"
					  : NULL;
		if (bad) {
			snprintf(err, errlen, "%s: address %zu of %zu is empty or longer than %d bytes",
				 bad, i + 1, nj, PROTO_URL_MAX - 1);
			return TR_ERR_INVALID;
		}
	}
	return TR_OK;
}

/* The messages written (handed whole to the kernel) by the pipes of sock, or by pipe
 * only when pipe > 0, leaving out pipe exclude; from nng's statistics, where a pipe
 * scope has children "id", "socket" and "tx_msgs" (nng 1.5.2 counts a message there
 * once its last byte is written). -1 if the statistics cannot be read. */
static int64_t enr_links_tx(int sock, int pipe, int exclude)
{
	nng_stat *root = NULL;
	if (nng_stats_get(&root) != 0)
		return -1;
	int64_t sum = 0;
	for (nng_stat *c = nng_stat_child(root); c; c = nng_stat_next(c)) {
		if (strcmp(nng_stat_name(c), "pipe") != 0)
			continue;
		nng_stat *id = nng_stat_find(c, "id"), *so = nng_stat_find(c, "socket"),
			 *tx = nng_stat_find(c, "tx_msgs");
		if (!id || !so || !tx || (int)nng_stat_value(so) != sock)
			continue;
		int pid = (int)nng_stat_value(id);
		if (pid == exclude || (pipe > 0 && pid != pipe))
			continue;
		sum += (int64_t)nng_stat_value(tx);
	}
	nng_stats_free(root);
	return sum;
}

/* nng thread: a link's store connected or went away. */
static void enr_links_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	enr_link *k = arg;
	if (ev == NNG_PIPE_EV_REM_POST) {
		/* still in the statistics (nng unregisters them after this callback) */
		int64_t tx = enr_links_tx(nng_socket_id(k->sock), nng_pipe_id(p), 0);
		if (tx > 0)
			atomic_fetch_add(&k->written_dead, (uint64_t)tx);
		atomic_store(&k->dead_pipe, nng_pipe_id(p));
	}
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&k->pipes, 1);
		atomic_store(&k->came_up_ms, tr_mono_ms());
		atomic_store(&k->came_up, true);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&k->pipes, 1);
		atomic_store(&k->owner->went_down_ms, tr_mono_ms());
		atomic_store(&k->owner->went_down, true);
	}
	atomic_store(&k->owner->beat_now, true);
}

int enr_links_open(const char *jobs_urls, const char *results_urls, int send_timeout_ms,
		   enr_links **out)
{
	int rc = TR_ERR_INVALID;
	char err[256];
	enr_links *l = NULL;

	if (enr_links_check(jobs_urls, results_urls, err, sizeof err) != TR_OK) {
		tr_error("%s", err);
		goto out;
	}
	rc = TR_ERR_NOMEM;
	if (!(l = calloc(1, sizeof *l)))
		goto out;
	l->n = proto_url_count(results_urls);
	for (size_t i = 0; i < l->n; i++) {
		enr_link *k = &l->link[i];
		k->owner = l;
		k->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
		atomic_init(&k->pipes, 0);
		atomic_init(&k->came_up, false);
		atomic_init(&k->came_up_ms, 0);
		atomic_init(&k->busy, 0);
		atomic_init(&k->accepted, 0);
		atomic_init(&k->written_dead, 0);
		atomic_init(&k->dead_pipe, 0);
		proto_url_at(jobs_urls, i, k->jobs_url, sizeof k->jobs_url);
		proto_url_at(results_urls, i, k->results_url, sizeof k->results_url);
	}
	atomic_init(&l->went_down, false);
	atomic_init(&l->went_down_ms, 0);
	atomic_init(&l->beat_now, false);
	for (size_t i = 0; i < l->n; i++) {
		enr_link *k = &l->link[i];
		rc = proto_sock_dial_notify(PROTO_SOCK_PUSH, k->results_url, enr_links_pipe_event, k,
					    &k->sock);
		if (rc != TR_OK)
			goto out;
		rc = proto_nng_err(nng_socket_set_ms(k->sock, NNG_OPT_SENDTIMEO, send_timeout_ms));
		if (rc == TR_OK)
			rc = proto_nng_err(nng_socket_set_int(k->sock, NNG_OPT_SENDBUF,
							      ENR_LINK_SENDBUF));
		if (rc != TR_OK)
			goto out;
	}
	*out = l;
	l = NULL;
	rc = TR_OK;
out:
	enr_links_free(l);
	return rc;
}

void enr_links_free(enr_links *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (nng_socket_id(l->link[i].sock) > 0)
			proto_sock_close(l->link[i].sock);
	}
	free(l);
}

size_t enr_links_origin(enr_links *l, nng_msg *msg)
{
	if (l->n < 2)
		return 0;
	nng_dialer d = nng_pipe_dialer(nng_msg_get_pipe(msg));
	char *url = NULL;
	size_t found = 0;
	if (nng_dialer_id(d) <= 0 || nng_dialer_get_string(d, NNG_OPT_URL, &url) != 0)
		return 0;
	/* a dialer keeps the URL it was given, and proto_sock_dial gave it list element i */
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(url, l->link[i].jobs_url) == 0) {
			found = i;
			break;
		}
	}
	nng_strfree(url);
	return found;
}

void enr_links_busy(enr_links *l, size_t link, int delta)
{
	if (link < l->n)
		atomic_fetch_add(&l->link[link].busy, delta);
}

void enr_links_heartbeat(enr_links *l, proto_heartbeat *hb, long free_slots, bool closing)
{
	uint32_t connected = 0;
	long shares[ENR_LINKS_MAX];
	for (size_t i = 0; i < l->n; i++)
		connected |= atomic_load(&l->link[i].pipes) > 0 ? 1u << i : 0;
	enr_links_split(free_slots, connected, l->n, l->rotation++, shares);
	for (size_t i = 0; i < l->n; i++) {
		if (!((connected >> i) & 1u))
			continue; /* nothing for a store that is away: it gets one when it is back */
		/* The store's credit for us is slots - busy (store_enrichers.c): with busy
		 * counting only its own jobs, it is exactly the share, and its "earned" cap
		 * (the most of its jobs seen held, plus one) compares like for like. */
		int32_t busy = atomic_load(&l->link[i].busy);
		hb->busy = busy;
		hb->slots = closing ? 0 : busy + (int32_t)shares[i];
		proto_msg m = {.type = PROTO_HEARTBEAT, .u.heartbeat = *hb};
		nng_msg *msg = NULL;
		if (proto_msg_to_nng(&m, &msg) != TR_OK)
			continue;
		/* Never block on a heartbeat: the main thread sends another soon. */
		int rv = nng_sendmsg(l->link[i].sock, msg, NNG_FLAG_NONBLOCK);
		if (rv == 0) {
			atomic_fetch_add(&l->link[i].accepted, 1);
		} else {
			nng_msg_free(msg);
			atomic_store(&l->beat_now, true);
			tr_debug("heartbeat to %s not sent: %s", l->link[i].results_url,
				 nng_strerror(rv));
		}
	}
}

int enr_links_send(enr_links *l, size_t origin, nng_msg *msg)
{
	size_t to = origin < l->n ? origin : 0;
	for (size_t k = 0; k < l->n; k++) {
		size_t i = (to + k) % l->n;
		if (atomic_load(&l->link[i].pipes) > 0) {
			to = i;
			break;
		}
	}
	int rv = nng_sendmsg(l->link[to].sock, msg, 0);
	if (rv == 0)
		atomic_fetch_add(&l->link[to].accepted, 1);
	return proto_nng_err(rv);
}

int enr_links_flush(enr_links *l, int64_t deadline_mono_ms)
{
	for (;;) {
		int unwritten = 0;
		for (size_t i = 0; i < l->n; i++) {
			enr_link *k = &l->link[i];
			if (atomic_load(&k->pipes) <= 0)
				continue; /* nothing more leaves while the store is away */
			int64_t tx = enr_links_tx(nng_socket_id(k->sock), 0,
						  atomic_load(&k->dead_pipe));
			if (tx < 0)
				return -1;
			int64_t left = (int64_t)atomic_load(&k->accepted) -
				       (tx + (int64_t)atomic_load(&k->written_dead));
			if (left > 0)
				unwritten += (int)left;
		}
		if (unwritten == 0 || tr_mono_ms() >= deadline_mono_ms)
			return unwritten;
		struct timespec ts = {0, ENR_FLUSH_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

bool enr_links_poll(enr_links *l, enr_held *h)
{
	bool beat = atomic_exchange(&l->beat_now, false);
	for (size_t i = 0; i < l->n; i++) {
		if (!atomic_exchange(&l->link[i].came_up, false))
			continue;
		/* results finished since went out on the new pipe */
		int n = enr_held_resend(h, l->link[i].sock, atomic_load(&l->link[i].came_up_ms));
		atomic_fetch_add(&l->link[i].accepted, (uint64_t)n);
		if (n)
			tr_info("store at %s back: sent %d kept result(s) again",
				l->link[i].results_url, n);
	}
	if (atomic_exchange(&l->went_down, false)) {
		/* its results may have been lost in its socket: any store can apply them */
		for (size_t i = 0; i < l->n; i++) {
			if (atomic_load(&l->link[i].pipes) <= 0)
				continue;
			int n = enr_held_resend(h, l->link[i].sock,
						atomic_load(&l->went_down_ms));
			atomic_fetch_add(&l->link[i].accepted, (uint64_t)n);
			if (n)
				tr_info("a store went away: sent %d kept result(s) to %s", n,
					l->link[i].results_url);
			break;
		}
	}
	return beat;
}
