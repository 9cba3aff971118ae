/* proto_tls: the two nng TLS configurations (server for listeners, client for
 * dialers), built from PEM files once at start and shared by every socket. */
#include "proto_tls.h"

#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_err.h"
#include "tr_log.h"

#define PROTO_TLS_FILE_MAX (1024 * 1024)

/* Set by proto_tls_configure before threads exist, read-only afterwards. */
static nng_tls_config *proto_tls_server;
static nng_tls_config *proto_tls_client;

static char *proto_tls_read(const char *path, const char *what, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: cannot read %s", what, path);
		return NULL;
	}
	text = malloc(PROTO_TLS_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, PROTO_TLS_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!text || n == 0 || n > PROTO_TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: %s is empty or over 1 MiB", what, path);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static bool proto_tls_set(const char *s)
{
	return s && *s;
}

/* One configuration: mode, the CA, our certificate and key, peers verified. */
static int proto_tls_build(nng_tls_mode mode, const char *ca, const char *cert, const char *key,
			   const char *server_name, nng_tls_config **out, char *err, size_t errlen)
{
	nng_tls_config *c = NULL;
	const char *step = "allocate";
	int rv = nng_tls_config_alloc(&c, mode);
	if (rv == 0 && (step = "TRIAGE_TLS_CA", true))
		rv = nng_tls_config_ca_chain(c, ca, NULL);
	if (rv == 0 && (step = "TRIAGE_TLS_CERT/TRIAGE_TLS_KEY", true))
		rv = nng_tls_config_own_cert(c, cert, key, NULL);
	if (rv == 0 && (step = "auth mode", true))
		rv = nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv == 0 && server_name && (step = "TRIAGE_TLS_SERVER_NAME", true))
		rv = nng_tls_config_server_name(c, server_name);
	if (rv != 0) {
		snprintf(err, errlen, "TLS: %s refused: %s", step, nng_strerror(rv));
		if (c)
			nng_tls_config_free(c);
		return TR_ERR_INVALID;
	}
	*out = c;
	return TR_OK;
}

int proto_tls_configure(const proto_tls_files *f, char *err, size_t errlen)
{
	char *ca = NULL, *cert = NULL, *key = NULL;
	int rc = TR_ERR_INVALID;
	int given = proto_tls_set(f->ca_file) + proto_tls_set(f->cert_file) +
		    proto_tls_set(f->key_file);

	if (given == 0)
		return TR_OK;
	if (given != 3) {
		snprintf(err, errlen, "TLS: set all of TRIAGE_TLS_CA, TRIAGE_TLS_CERT and "
				      "TRIAGE_TLS_KEY, or none");
		return TR_ERR_INVALID;
	}
	if (!(ca = proto_tls_read(f->ca_file, "TRIAGE_TLS_CA", err, errlen)) ||
	    !(cert = proto_tls_read(f->cert_file, "TRIAGE_TLS_CERT", err, errlen)) ||
	    !(key = proto_tls_read(f->key_file, "TRIAGE_TLS_KEY", err, errlen)))
		goto out;
	const char *name = proto_tls_set(f->server_name) ? f->server_name
							  : PROTO_TLS_DEFAULT_SERVER_NAME;
	rc = proto_tls_build(NNG_TLS_MODE_SERVER, ca, cert, key, NULL, &proto_tls_server, err,
			     errlen);
	if (rc == TR_OK)
		rc = proto_tls_build(NNG_TLS_MODE_CLIENT, ca, cert, key, name, &proto_tls_client,
				     err, errlen);
	if (rc != TR_OK)
		proto_tls_shutdown();
out:
	free(ca);
	free(cert);
	if (key) {
		memset(key, 0, strlen(key)); /* the private key leaves memory with its use */
		free(key);
	}
	return rc;
}

void proto_tls_shutdown(void)
{
	if (proto_tls_server)
		nng_tls_config_free(proto_tls_server);
	if (proto_tls_client)
		nng_tls_config_free(proto_tls_client);
	proto_tls_server = proto_tls_client = NULL;
}

bool proto_tls_url(const char *url)
{
	return url && (strncmp(url, "tls+tcp://", 10) == 0 || strncmp(url, "tls+tcp4://", 11) == 0 ||
		       strncmp(url, "tls+tcp6://", 11) == 0);
}

int proto_tls_listener(nng_listener l, const char *url)
{
	if (!proto_tls_server) {
		tr_error("proto: %s needs TRIAGE_TLS_CA, TRIAGE_TLS_CERT and TRIAGE_TLS_KEY", url);
		return TR_ERR_INVALID;
	}
	int rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, proto_tls_server);
	if (rv != 0) {
		tr_error("proto: TLS on %s: %s", url, nng_strerror(rv));
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

int proto_tls_dialer(nng_dialer d, const char *url)
{
	if (!proto_tls_client) {
		tr_error("proto: %s needs TRIAGE_TLS_CA, TRIAGE_TLS_CERT and TRIAGE_TLS_KEY", url);
		return TR_ERR_INVALID;
	}
	int rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, proto_tls_client);
	if (rv != 0) {
		tr_error("proto: TLS on %s: %s", url, nng_strerror(rv));
		return TR_ERR_INVALID;
	}
	return TR_OK;
}
