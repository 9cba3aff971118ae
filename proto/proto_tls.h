/* proto_tls: mutual TLS for tls+tcp:// socket addresses (nng 1.5.2 with mbedTLS). Both
 * sides present a certificate from the private CA and verify the other's: the store
 * (the listener) accepts only peers whose certificate the CA signed, and the dialers
 * accept only a store whose certificate carries the expected name.
 *
 * Configured once at start, before any socket opens (a process-wide setting, like the
 * log threshold); proto_sock applies it to every tls+tcp:// listener and dialer. */
#ifndef PROTO_TLS_H
#define PROTO_TLS_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	const char *ca_file;     /* PEM: the CA that signs every service's certificate */
	const char *cert_file;   /* PEM: this process's certificate (chain) */
	const char *key_file;    /* PEM: its private key */
	const char *server_name; /* the name the store's certificate carries (dialers) */
} proto_tls_files;

#define PROTO_TLS_DEFAULT_SERVER_NAME "triage-store"

/* Loads the files. All of ca/cert/key empty: TLS stays off (tls+tcp:// addresses are
 * then refused with a message saying what to set). Some but not all set, an unreadable
 * file or a certificate mbedTLS refuses: TR_ERR_INVALID with a message in err naming
 * the variable. Call once, at start. */
int proto_tls_configure(const proto_tls_files *files, char *err, size_t errlen);

/* Frees what proto_tls_configure loaded (after every socket is closed). */
void proto_tls_shutdown(void);

/* True for tls+tcp://, tls+tcp4:// and tls+tcp6:// addresses. */
bool proto_tls_url(const char *url);

/* Give a listener or dialer of a tls+ address its configuration. TR_ERR_INVALID (and a
 * log line) when TLS was not configured. */
int proto_tls_listener(nng_listener l, const char *url);
int proto_tls_dialer(nng_dialer d, const char *url);

#endif
