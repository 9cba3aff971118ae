/* proto_guard: keeps every listener proto_sock_listen opened accepting and every dialer
 * proto_sock_dial started dialing, whatever a peer does during the SP handshake (two
 * faces of one nng 1.5.2 bug, upstream #1518).
 *
 * Why: in nng 1.5.2 a handshake whose write gets EPIPE (the peer closed before it) ends
 * with NNG_ECLOSED, which nng's core takes for "closed by the application":
 *  - a listener never posts another accept. A peer that connects and closes at once (a
 *    plain socat, a monitoring probe) is enough; later peers finish the handshake on
 *    their side and sit unaccepted for good. Seen here on ipc:// with one connect and
 *    close; tcp:// (where the first write rarely fails) and tls+tcp:// share the path.
 *  - a dialer never redials. A peer that dies (or is killed) just as the dialer
 *    connects is enough: a gateway then never reaches its restarted store, an enricher
 *    never takes another job from it (seen in CI: an enricher connecting as a store was
 *    killed got no job from the store started after it).
 * Fixed upstream after 1.5.2 by reporting such a close as NNG_ECONNSHUT; Debian 12 ships
 * 1.5.2.
 *
 * How: one guard thread per process looks at nng's statistics of every guarded
 * listener and dialer every PROTO_GUARD_TICK_MS.
 * Listeners: a rise in its "other errors" counter (where
 * NNG_ECLOSED and the harmless NNG_ECONNSHUT, the close of any accepted pipe, are both
 * counted), or PROTO_GUARD_RECHECK_MS without a check, makes it check the
 * listener: over ipc:// and tcp:// it connects, completes the SP handshake as a silent
 * peer (as the listener's own protocol for PUSH, which nng then rejects, so no job goes
 * to the check) and waits for the listener's "accept" counter to move. If it does not
 * within PROTO_GUARD_CHECK_MS, the listener
 * is closed and a new one listens on the same URL (its pipes close and their peers
 * redial within the reconnect backoff). If it does, the check closes its connection and
 * takes the "other error" that close makes as seen (else each check would call for the
 * next). The statistics are looked up by id, not with nng 1.5.2's
 * nng_stat_find_listener/_dialer, which return the first listener's or dialer's.
 * tls+tcp:// cannot be checked without a certificate, so there any "other" error (a
 * peer leaving too) reopens the listener. Garbage bytes and
 * half handshakes never stop nng's accept loop (protocol errors and timeouts are
 * retried by nng itself); the tests check that too.
 * Dialers: every connect attempt ends in one of the dialer's outcome counters
 * (connect, refused, disconnect, other, timeout, ...), and a live dialer without a
 * pipe attempts at least every reconnect maximum (2 s, proto_sock.c). One with no pipe
 * whose counters stand still for PROTO_GUARD_DIAL_STALL_MS has stopped: it is closed
 * and a new dialer dials the same URL (a connect still hanging that long, say to a host
 * that drops SYNs, is simply started again).
 *
 * Thread: the guard thread owns the table of guarded listeners and dialers (under its
 * mutex). It starts with the first guarded one and ends when no guarded socket is open
 * any more, or at proto_guard_stop(). A closed socket's entries are dropped on the next
 * tick. */
#ifndef PROTO_GUARD_H
#define PROTO_GUARD_H

#include <nng/nng.h>

#define PROTO_GUARD_TICK_MS 200
#define PROTO_GUARD_CHECK_MS 1000
#define PROTO_GUARD_RECHECK_MS 30000 /* a break whose error went unseen lasts at most this */
#define PROTO_GUARD_SLICE_MS 20 /* a check looks for proto_guard_stop this often */
#define PROTO_GUARD_DIAL_STALL_MS 6000 /* three reconnect maxima without an attempt */

/* How a listener is opened again: listens on url on s (TLS configured as the first
 * time), setting *out; returns an nng error. */
typedef int (*proto_guard_listen_fn)(nng_socket s, const char *url, nng_listener *out);

/* Starts guarding listener l of socket s, listening on url (copied), reopened with
 * relisten. Returns TR_OK,
 * TR_ERR_NOMEM or TR_ERR_INTERNAL (the thread could not start: nothing is guarded).
 * Statistics must be compiled into libnng (Debian's are); without them the guard logs
 * once and does nothing. */
int proto_guard_watch(nng_socket s, nng_listener l, const char *url,
		      proto_guard_listen_fn relisten);

/* How a dialer is started again: dials url on s without blocking (TLS configured as
 * the first time), setting *out; returns an nng error. */
typedef int (*proto_guard_dial_fn)(nng_socket s, const char *url, nng_dialer *out);

/* Starts guarding dialer d of socket s, dialing url (copied), restarted with redial.
 * Returns as proto_guard_watch. */
int proto_guard_watch_dialer(nng_socket s, nng_dialer d, const char *url,
			     proto_guard_dial_fn redial);

/* Stops the guard thread and forgets every listener (they stay open). Call before
 * nng_fini(). Safe to call when nothing is guarded. Prompt: a check in progress is
 * abandoned within PROTO_GUARD_SLICE_MS (it reopens nothing), so a stop never waits
 * PROTO_GUARD_CHECK_MS per suspect listener. */
void proto_guard_stop(void);

/* For a process that is stopping: proto_guard_stop(), and every guarded listener is
 * closed too. nng 1.5.2 never finishes nng_close() of a socket whose listener bug #1518
 * stopped (it waits for that listener to go), and a listener can break at any moment
 * while peers come and go (a rolling restart); nng_listener_close() always completes.
 * Connected pipes keep working: replies, events and results still flow; no new peer
 * connects. */
void proto_guard_close_listeners(void);

/* Stops guarding socket s (waiting out a check, reopening or redial in progress).
 * Call it before nng_close() of a guarded socket (proto_sock_close does both): nng
 * 1.5.2 is not safe against a listener or dialer being opened on a socket another
 * thread is closing. proto_guard_stop() does it for
 * every socket at once (the store calls it when it starts shutting down). */
void proto_guard_forget(nng_socket s);

/* How many times the guard reopened a listener or restarted a dialer in this process,
 * and how many rounds it has made over them (for tests and logs). */
unsigned long proto_guard_heals(void);
unsigned long proto_guard_ticks(void);

#endif
