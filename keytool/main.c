/* triage-keys: makes, lists and revokes API keys by talking to the store's REQ/REP
 * socket (TRIAGE_STORE_URL), the same path the gateway's /keys routes use. Whoever can
 * reach that socket already controls the store, so the tool needs no key of its own
 * and works before any admin key exists. A new key is printed once and never stored. */
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_auth.h"
#include "gw_keys.h"
#include "gw_store.h"
#include "proto.h"
#include "proto_guard.h"
#include "proto_sock.h"
#include "tr_config.h"
#include "tr_err.h"
#include "tr_log.h"

typedef struct {
	char *store_url;
	long timeout_ms;
} kt_config;

static const tr_cfg_item kt_items[] = {
	{"TRIAGE_STORE_URL", TR_CFG_STR, PROTO_DEFAULT_STORE_URL, offsetof(kt_config, store_url), 0,
	 0, NULL, "the store's REQ/REP address"},
	{"TRIAGE_STORE_TIMEOUT_MS", TR_CFG_INT, "3000", offsetof(kt_config, timeout_ms), 10, 600000,
	 NULL, "how long to wait for the store"},
};
#define KT_NITEMS (sizeof kt_items / sizeof kt_items[0])

static int kt_usage(void)
{
	fprintf(stderr, "usage: triage-keys create --role viewer|reporter|responder|admin "
			"--name NAME\n       triage-keys list\n       triage-keys revoke ID\n");
	return 2;
}

/* One round trip; prints the answer's JSON (with key added, if given) on stdout. */
static int kt_call(const kt_config *cfg, int op, proto_kv *params, size_t n, const char *key)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	proto_msg reply = {0};
	char request_id[GW_REQUEST_ID_LEN + 1];
	int rc = proto_sock_dial(PROTO_SOCK_REQ, cfg->store_url, &s);
	if (rc != TR_OK)
		goto out;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, (nng_duration)cfg->timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, (nng_duration)cfg->timeout_ms);
	gw_request_id(request_id);
	proto_msg m = {.type = PROTO_QUERY};
	m.u.query.request_id = request_id;
	m.u.query.op = op;
	m.u.query.params = n ? params : NULL;
	m.u.query.nparams = n;
	rc = proto_sock_send(s, &m);
	if (rc == TR_OK)
		rc = proto_sock_recv(s, &reply);
	if (rc != TR_OK) {
		fprintf(stderr, "triage-keys: the store at %s did not answer (%s)\n",
			cfg->store_url, tr_strerror(rc));
		goto out;
	}
	rc = reply.u.reply.code;
	if (rc != TR_OK) {
		fprintf(stderr, "triage-keys: %s\n", reply.u.reply.json ? reply.u.reply.json : "");
		goto out;
	}
	char *with = key ? gw_keys_with_key(reply.u.reply.json, key) : NULL;
	printf("%s\n", with ? with : reply.u.reply.json);
	free(with);
out:
	proto_msg_free(&reply);
	proto_sock_close(s);
	return rc;
}

static int kt_create(const kt_config *cfg, int argc, char **argv)
{
	const char *role = NULL, *name = NULL;
	gw_role r;
	char key[GW_KEY_TEXT_LEN + 1], digest[2 * GW_SHA256_LEN + 1];
	uint8_t d[GW_SHA256_LEN];
	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--role") == 0)
			role = argv[i + 1];
		else if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else
			return kt_usage();
	}
	if (argc % 2 != 0 || !role || !name || !gw_role_parse(role, &r))
		return kt_usage();
	if (!gw_auth_new_key(key)) {
		fprintf(stderr, "triage-keys: no random numbers\n");
		return 1;
	}
	gw_sha256(key, strlen(key), d);
	gw_hex(d, GW_SHA256_LEN, digest);
	proto_kv p[] = {{"name", (char *)name}, {"role", (char *)role}, {"digest", digest}};
	int rc = kt_call(cfg, PROTO_OP_KEY_CREATE, p, 3, key);
	explicit_bzero(key, sizeof key);
	return rc == TR_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	kt_config cfg;
	char err[256];
	int rc = 2;
	if (tr_config_wants_help(argc, argv)) {
		tr_config_help(stdout, "triage-keys",
			       "API keys: create --role R --name N | list | revoke ID (talks to "
			       "the store).",
			       kt_items, KT_NITEMS);
		return 0;
	}
	if (argc < 2)
		return kt_usage();
	tr_log_init("keys", TR_LOG_WARN);
	if (tr_config_load(kt_items, KT_NITEMS, &cfg, err, sizeof err) != TR_OK) {
		fprintf(stderr, "triage-keys: %s\n", err);
		return 2;
	}
	if (strcmp(argv[1], "create") == 0) {
		rc = kt_create(&cfg, argc - 2, argv + 2);
	} else if (strcmp(argv[1], "list") == 0 && argc == 2) {
		rc = kt_call(&cfg, PROTO_OP_KEY_LIST, NULL, 0, NULL) == TR_OK ? 0 : 1;
	} else if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		proto_kv p[] = {{"id", argv[2]}};
		rc = kt_call(&cfg, PROTO_OP_KEY_REVOKE, p, 1, NULL) == TR_OK ? 0 : 1;
	} else {
		rc = kt_usage();
	}
	tr_config_free(kt_items, KT_NITEMS, &cfg);
	proto_guard_stop(); /* before nng_fini: the dialer's guard thread reads nng's statistics */
	nng_fini();
	return rc;
}
