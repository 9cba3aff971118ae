/* enr_links: one PUSH socket per store (a "link") dialing its results URL, and which
 * stores are connected now; ready messages split the free slots among the connected
 * stores, results go to the store that sent the job or else to any connected one.
 *
 * Threads: workers call enr_links_origin, enr_links_busy and enr_links_send at any
 * time; enr_links_heartbeat one caller at a time (the worker serialises its heartbeats);
 * enr_links_poll the main thread only; the pipe callbacks run on nng threads and only
 * set atomics. Sockets are thread-safe, so no lock is taken here.
 *
 * Ownership: enr_links_send takes the message only if the send succeeds (nng's rule). */
#ifndef ENR_LINKS_H
#define ENR_LINKS_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enr_held.h"
#include "proto.h"

#define ENR_LINKS_MAX 16 /* stores one enricher serves at once */

typedef struct enr_links enr_links;

/* Pure. Splits free_slots among the n links (n <= ENR_LINKS_MAX) whose bit is set in
 * connected: each connected link gets free_slots / L (L connected), and the remainder
 * free_slots % L goes to the connected links number rotation, rotation + 1, ... counted
 * among the connected ones, modulo L; so a caller adding one to rotation at each
 * heartbeat hands the odd slots to every store in turn. A link not connected gets 0,
 * free_slots <= 0 gives 0 to all. The shares sum to free_slots when L > 0. */
void enr_links_split(long free_slots, uint32_t connected, size_t n, uint64_t rotation,
		     long *shares);

/* Checks two comma-separated lists (jobs and results URLs, element i of each being store
 * i): the same number of elements, none empty, at most ENR_LINKS_MAX. TR_OK, or
 * TR_ERR_INVALID with a message naming TRIAGE_JOBS_URL / TRIAGE_RESULTS_URL in err. */
int enr_links_check(const char *jobs_urls, const char *results_urls, char *err,
		    size_t errlen);

/* Opens one PUSH socket per element of results_urls (send timeout send_timeout_ms),
 * watching its pipes; jobs_urls names the same stores in the same order (for
 * enr_links_origin). Both lists must pass enr_links_check. On success *out is set; free
 * with enr_links_free. Errors are logged; returns a tr_err. */
int enr_links_open(const char *jobs_urls, const char *results_urls, int send_timeout_ms,
		   enr_links **out);

/* Closes every socket (nng waits for the pipe callbacks) and frees l. NULL is fine. */
void enr_links_free(enr_links *l);

/* The link (store) whose jobs URL the job socket's pipe that delivered msg was dialed
 * for; 0 when it cannot tell (a single store, or the pipe is gone). msg is borrowed. */
size_t enr_links_origin(enr_links *l, nng_msg *msg);

/* A job from that link started (+1) or its slot came free (-1). */
void enr_links_busy(enr_links *l, size_t link, int delta);

/* Sends *hb (filled but for slots and busy) without blocking to every connected link:
 * busy = the jobs from that link still being worked, slots = busy + its share of
 * free_slots (enr_links_split, rotation advanced by one per call); slots = 0 to all
 * when closing. A send that fails is retried by the main thread (enr_links_poll).
 * One caller at a time. */
void enr_links_heartbeat(enr_links *l, proto_heartbeat *hb, long free_slots, bool closing);

/* Sends msg (a RESULT) on link origin if its store is connected, else on another
 * connected link, else on origin (it waits up to the send timeout for the store).
 * Returns a tr_err; on TR_OK msg was taken. */
int enr_links_send(enr_links *l, size_t origin, nng_msg *msg);

/* Waits until every message the sockets took has been written to a connected store's
 * pipe (nng has no flush; closing a socket drops what it still queues), or until
 * deadline_mono_ms. A link with no store connected is not waited for. Returns the
 * messages still unwritten (0: all out), or -1 if nng's statistics cannot be read. */
int enr_links_flush(enr_links *l, int64_t deadline_mono_ms);

/* Main thread: sends the results kept in h again to every link whose store (re)connected
 * since the last call, and to a connected link when some link lost its store. Returns
 * true if a heartbeat should go out now (a connection came or went, or one was missed). */
bool enr_links_poll(enr_links *l, enr_held *h);

#endif
