/* proto_sock: the one place the pipeline's nng sockets are opened and configured
 * (size cap, reconnect backoff, resends, buffers, ipc directories, stale ipc files,
 * and a guard that keeps every listener accepting: proto_guard.h). */
#include "proto_sock.h"

#include "proto_guard.h"

#include <errno.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto_tls.h"
#include "tr_err.h"
#include "tr_log.h"

/* nng counts a protocol's header (REQ/REP's request id, 4 bytes a hop) against
 * NNG_OPT_RECVMAXSZ, so the cap leaves room for it: a body of exactly PROTO_MAX_MSG
 * still arrives, and the decoder enforces PROTO_MAX_MSG on the body itself. */
#define RECVMAX_HEADER_SLACK 64
#define RECONN_MIN_MS 50
#define RECONN_MAX_MS 2000
/* PUSH/PULL buffers, in messages. nng delivers at most once and a busy puller still
 * receives into its buffers, where messages die with the process (DESIGN.md), so the
 * buffers are kept at one message each. Measured here over ipc:// with 1 KB messages
 * and a puller that never receives: 1/1 lets 5 messages leave the pusher before a
 * non-blocking send fails (8/8: 18; nng's defaults: ~95). Leases, not buffers,
 * guarantee progress; a full pipeline makes the pusher's send wait or time out. */
#define PULL_RECVBUF 1
#define PUSH_SENDBUF 1
/* A PUSH with no puller ready (none connected, or all busy) would block a send for
 * ever; by default it gives up after this long (callers may set their own). */
#define PUSH_SEND_TIMEOUT_MS 1000

static const char *const kind_names[] = {
	[PROTO_SOCK_REP] = "rep", [PROTO_SOCK_REQ] = "req",   [PROTO_SOCK_PUB] = "pub",
	[PROTO_SOCK_SUB] = "sub", [PROTO_SOCK_PUSH] = "push", [PROTO_SOCK_PULL] = "pull",
};

static int map_nng(int rv)
{
	switch (rv) {
	case 0: return TR_OK;
	case NNG_ETIMEDOUT:
	case NNG_EAGAIN: return TR_ERR_TIMEOUT;
	case NNG_ECONNREFUSED:
	case NNG_ECLOSED:
	case NNG_ESTATE:
	case NNG_ECANCELED: return TR_ERR_UNAVAILABLE;
	case NNG_ENOMEM: return TR_ERR_NOMEM;
	case NNG_EMSGSIZE: return TR_ERR_TOO_LARGE;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP: return TR_ERR_INVALID;
	default: return TR_ERR_IO;
	}
}

/* Logs nng's own message once, with what was being done. */
static int nng_fail(int rv, const char *what, const char *url)
{
	if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
		tr_debug("nng: %s%s%s: %s", what, url ? " " : "", url ? url : "", nng_strerror(rv));
	else
		tr_warn("nng: %s%s%s: %s", what, url ? " " : "", url ? url : "", nng_strerror(rv));
	return map_nng(rv);
}

int proto_nng_err(int nng_rv)
{
	if (nng_rv == 0)
		return TR_OK;
	return nng_fail(nng_rv, "error", NULL);
}

/* The filesystem path of an ipc:// URL, or NULL for other transports. */
static const char *ipc_path(const char *url)
{
	return strncmp(url, "ipc://", 6) == 0 ? url + 6 : NULL;
}

/* mkdir -p of the directory holding path (mode 0700 for the parts it creates). */
static int make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return TR_OK;
	size_t len = (size_t)(slash - path);
	if (len >= sizeof(dir)) {
		tr_error("proto: ipc path too long: %s", path);
		return TR_ERR_INVALID;
	}
	memcpy(dir, path, len);
	dir[len] = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			tr_error("proto: cannot create %s: %s", dir, strerror(errno));
			return TR_ERR_IO;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return TR_OK;
}

/* The folder holding an ipc socket must be ours and closed to everybody else: the
 * socket's permissions are the internal plane's only lock (anyone who can connect can
 * submit, read every incident and forge results), and a folder someone else owns could
 * be swapped under us. Refuses rather than repairs: chmod is the operator's choice. */
static int ipc_dir_private(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	if (len == 0)
		snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
	else if (len < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)len, path);
	else
		return TR_ERR_INVALID;
	struct stat st;
	if (stat(dir, &st) != 0) {
		tr_error("proto: cannot stat %s: %s", dir, strerror(errno));
		return TR_ERR_IO;
	}
	if (st.st_uid != geteuid()) {
		tr_error("proto: refusing to listen in %s: it belongs to uid %u, not to this "
			 "service's user (uid %u); use a folder of its own",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return TR_ERR_INVALID;
	}
	if (st.st_mode & 077) {
		tr_error("proto: refusing to listen in %s: other users can reach it (mode %03o); "
			 "chmod 700 it",
			 dir, (unsigned)(st.st_mode & 0777));
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

typedef enum { IPC_FREE, IPC_STALE, IPC_LIVE } ipc_state;

/* Whether a process listens on the Unix socket at path, read from /proc/net/unix
 * without connecting (see ipc_prepare for why a connection must be avoided). A
 * socket file nobody listens on is a dead process's leftover. */
static ipc_state ipc_probe(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return IPC_FREE; /* nothing there, or not a socket: nng_listen will say */
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return IPC_FREE; /* cannot tell: leave it to nng */
	ipc_state state = IPC_STALE;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags = 0;
		int pos = -1;
		/* Num: RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &pos) != 1 || pos < 0)
			continue;
		char *name = line + pos;
		name[strcspn(name, "\n")] = '\0';
		if ((flags & 0x10000) && strcmp(name, path) == 0) { /* __SO_ACCEPTCON */
			state = IPC_LIVE;
			break;
		}
	}
	fclose(f);
	return state;
}

/* Before listening on an ipc path: create its directory, remove a stale socket file,
 * and refuse, without calling nng_listen, when a live process listens there. Never
 * connect to find out: in nng 1.5.2 a peer that connects and closes during the SP
 * handshake completes the listener's accept with NNG_ECLOSED and the listener stops
 * accepting for good (seen here over ipc://; upstream #1518 for TCP). nng_listen's own
 * check on NNG_EADDRINUSE connects like that, so a second listen on a live path would
 * silently break the first listener. */
static int ipc_prepare(const char *url, const char *path)
{
	int rc = make_parent_dirs(path);
	if (rc != TR_OK)
		return rc;
	if ((rc = ipc_dir_private(path)) != TR_OK)
		return rc;
	switch (ipc_probe(path)) {
	case IPC_LIVE:
		tr_error("proto: listen %s: another process is listening there", url);
		return TR_ERR_IO;
	case IPC_STALE:
		tr_info("proto: removing stale ipc socket %s", path);
		if (unlink(path) != 0 && errno != ENOENT) {
			tr_error("proto: cannot remove %s: %s", path, strerror(errno));
			return TR_ERR_IO;
		}
		return TR_OK;
	case IPC_FREE: return TR_OK;
	}
	return TR_OK;
}

/* Opens a socket of the kind with the pipeline's options; on failure it is closed. */
static int open_kind(proto_sock_kind kind, nng_socket *out)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rv;

	switch (kind) {
	case PROTO_SOCK_REP: rv = nng_rep0_open(&s); break;
	case PROTO_SOCK_REQ: rv = nng_req0_open(&s); break;
	case PROTO_SOCK_PUB: rv = nng_pub0_open(&s); break;
	case PROTO_SOCK_SUB: rv = nng_sub0_open(&s); break;
	case PROTO_SOCK_PUSH: rv = nng_push0_open(&s); break;
	case PROTO_SOCK_PULL: rv = nng_pull0_open(&s); break;
	default: tr_error("proto: unknown socket kind %d", (int)kind); return TR_ERR_INVALID;
	}
	if (rv != 0)
		return nng_fail(rv, "open", kind_names[kind]);

	const char *opt = NNG_OPT_RECVMAXSZ;
	rv = nng_socket_set_size(s, opt, PROTO_MAX_MSG + RECVMAX_HEADER_SLACK);
	if (rv == 0)
		rv = nng_socket_set_ms(s, opt = NNG_OPT_RECONNMINT, RECONN_MIN_MS);
	if (rv == 0)
		rv = nng_socket_set_ms(s, opt = NNG_OPT_RECONNMAXT, RECONN_MAX_MS);
	/* no resend by default: a caller whose requests are safe to repeat (gw_store.c)
	 * turns it on per context */
	if (rv == 0 && kind == PROTO_SOCK_REQ)
		rv = nng_socket_set_ms(s, opt = NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (rv == 0 && kind == PROTO_SOCK_SUB)
		rv = nng_socket_set(s, opt = NNG_OPT_SUB_SUBSCRIBE, "", 0);
	if (rv == 0 && kind == PROTO_SOCK_PULL)
		rv = nng_socket_set_int(s, opt = NNG_OPT_RECVBUF, PULL_RECVBUF);
	if (rv == 0 && kind == PROTO_SOCK_PUSH)
		rv = nng_socket_set_int(s, opt = NNG_OPT_SENDBUF, PUSH_SENDBUF);
	if (rv == 0 && kind == PROTO_SOCK_PUSH)
		rv = nng_socket_set_ms(s, opt = NNG_OPT_SENDTIMEO, PUSH_SEND_TIMEOUT_MS);
	if (rv != 0) {
		int rc = nng_fail(rv, "set option", opt);
		nng_close(s);
		return rc;
	}
	*out = s;
	return TR_OK;
}

/* Listens on url (with TLS for tls+tcp:// URLs); the guard reopens listeners this way
 * too. Returns an nng error (NNG_EINVAL when the TLS configuration is refused). */
static int listen_url(nng_socket s, const char *url, nng_listener *out)
{
	nng_listener l;
	int rv;
	if (proto_tls_url(url)) {
		rv = nng_listener_create(&l, s, url);
		if (rv == 0 && proto_tls_listener(l, url) != TR_OK) {
			nng_listener_close(l);
			return NNG_EINVAL;
		}
		if (rv == 0 && (rv = nng_listener_start(l, 0)) != 0)
			nng_listener_close(l);
	} else {
		rv = nng_listen(s, url, &l, 0);
	}
	if (rv == 0)
		*out = l;
	return rv;
}

int proto_sock_listen(proto_sock_kind kind, const char *url, nng_socket *out)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rc;

	if (!url || !out)
		return TR_ERR_INVALID;
	const char *path = ipc_path(url);
	if (path && (rc = ipc_prepare(url, path)) != TR_OK)
		return rc;
	if ((rc = open_kind(kind, &s)) != TR_OK)
		return rc;
	nng_listener lst;
	int rv = listen_url(s, url, &lst);
	if (rv != 0) {
		rc = nng_fail(rv, "listen", url);
		nng_close(s);
		return rc;
	}
	/* nng 1.5.2 lets a stranger stop a listener for good (proto_guard.h). */
	if ((rc = proto_guard_watch(s, lst, url, listen_url)) != TR_OK) {
		nng_close(s);
		return rc;
	}
	tr_debug("proto: %s listening on %s", kind_names[kind], url);
	*out = s;
	return TR_OK;
}

int proto_sock_dial(proto_sock_kind kind, const char *url, nng_socket *out)
{
	return proto_sock_dial_notify(kind, url, NULL, NULL, out);
}

/* Starts one dialer on s for url (TLS for tls+tcp://), setting *out; the guard
 * restarts dialers this way too. Returns an nng error. */
static int dial_url(nng_socket s, const char *url, nng_dialer *out)
{
	nng_dialer d = NNG_DIALER_INITIALIZER;
	int rv = nng_dialer_create(&d, s, url);
	if (rv == 0 && proto_tls_url(url) && proto_tls_dialer(d, url) != TR_OK)
		rv = NNG_EINVAL;
	if (rv == 0)
		rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (rv != 0 && nng_dialer_id(d) > 0)
		nng_dialer_close(d);
	if (rv == 0)
		*out = d;
	return rv;
}

size_t proto_url_count(const char *urls)
{
	size_t n = 1;
	for (const char *p = urls; p && *p; p++)
		n += *p == ',';
	return urls ? n : 0;
}

int proto_url_at(const char *urls, size_t i, char *out, size_t outlen)
{
	const char *p = urls;
	for (; p && i > 0; i--) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (!p || outlen == 0)
		return TR_ERR_INVALID;
	while (*p == ' ')
		p++;
	size_t len = strcspn(p, ",");
	while (len > 0 && p[len - 1] == ' ')
		len--;
	if (len == 0 || len >= outlen)
		return TR_ERR_INVALID;
	memcpy(out, p, len);
	out[len] = '\0';
	return TR_OK;
}

int proto_sock_dial_notify(proto_sock_kind kind, const char *urls, nng_pipe_cb cb, void *arg,
			   nng_socket *out)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	char url[PROTO_URL_MAX];
	int rc;

	if (!urls || !out)
		return TR_ERR_INVALID;
	size_t n = proto_url_count(urls);
	for (size_t i = 0; i < n; i++) {
		if (proto_url_at(urls, i, url, sizeof url) != TR_OK) {
			tr_error("proto: address %zu of \"%s\" is empty or too long", i + 1, urls);
			return TR_ERR_INVALID;
		}
	}
	if ((rc = open_kind(kind, &s)) != TR_OK)
		return rc;
	/* before the dial, so that no connection goes unseen */
	if (cb && (nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, cb, arg) != 0 ||
		   nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, cb, arg) != 0)) {
		nng_close(s);
		return TR_ERR_INTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		proto_url_at(urls, i, url, sizeof url);
		nng_dialer d;
		int rv = dial_url(s, url, &d);
		if (rv != 0) {
			rc = rv == NNG_EINVAL && proto_tls_url(url) ? TR_ERR_INVALID
								   : nng_fail(rv, "dial", url);
			proto_sock_close(s);
			return rc;
		}
		/* nng 1.5.2 lets a peer's close stop a dialer for good (proto_guard.h) */
		if ((rc = proto_guard_watch_dialer(s, d, url, dial_url)) != TR_OK) {
			proto_sock_close(s);
			return rc;
		}
		tr_debug("proto: %s dialing %s", kind_names[kind], url);
	}
	*out = s;
	return TR_OK;
}

void proto_sock_close(nng_socket s)
{
	proto_guard_forget(s);
	nng_close(s);
}

int proto_bytes_to_nng(const void *buf, size_t len, nng_msg **out)
{
	nng_msg *msg = NULL;
	int rv = nng_msg_alloc(&msg, len);
	if (rv != 0)
		return nng_fail(rv, "message alloc", NULL);
	memcpy(nng_msg_body(msg), buf, len);
	*out = msg;
	return TR_OK;
}

int proto_msg_to_nng(const proto_msg *m, nng_msg **out)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = proto_encode(m, &buf, &len);
	if (rc == TR_OK)
		rc = proto_bytes_to_nng(buf, len, out);
	free(buf);
	return rc;
}

int proto_msg_from_nng(nng_msg *msg, proto_msg *out, char *err, size_t errlen)
{
	if (!msg) {
		if (out)
			memset(out, 0, sizeof(*out));
		if (err && errlen)
			snprintf(err, errlen, "no message");
		return TR_ERR_PROTO;
	}
	return proto_decode(nng_msg_body(msg), nng_msg_len(msg), out, err, errlen);
}

int proto_sock_send(nng_socket s, const proto_msg *m)
{
	nng_msg *msg = NULL;
	int rc = proto_msg_to_nng(m, &msg);
	if (rc != TR_OK)
		return rc;
	int rv = nng_sendmsg(s, msg, 0);
	if (rv != 0) {
		nng_msg_free(msg); /* a send takes the message only when it succeeds */
		return nng_fail(rv, "send", proto_type_name(m->type));
	}
	return TR_OK;
}

int proto_sock_recv(nng_socket s, proto_msg *out)
{
	nng_msg *msg = NULL;
	char err[256];

	memset(out, 0, sizeof(*out));
	int rv = nng_recvmsg(s, &msg, 0);
	if (rv != 0)
		return nng_fail(rv, "recv", NULL);
	int rc = proto_msg_from_nng(msg, out, err, sizeof(err));
	if (rc != TR_OK)
		tr_warn("proto: dropped a malformed message of %zu bytes: %s", nng_msg_len(msg), err);
	nng_msg_free(msg);
	return rc;
}
