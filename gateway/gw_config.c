/* gw_config: the gateway's configuration table and address parsing. */
#include "gw_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "tr_err.h"

#ifndef TRIAGE_DEFAULT_WEB_DIR
#define TRIAGE_DEFAULT_WEB_DIR "web"
#endif

#define GW_CFG(field) offsetof(gw_config, field)

const tr_cfg_item gw_config_items[] = {
	{"TRIAGE_HTTP_ADDR", TR_CFG_STR, "127.0.0.1", GW_CFG(http_addr), 0, 0, NULL,
	 "address to listen on (IPv4/IPv6 literal or localhost)"},
	{"TRIAGE_HTTP_PORT", TR_CFG_INT, "4000", GW_CFG(http_port), 0, 65535, NULL,
	 "HTTP port (0: any free port, printed at start)"},
	{"TRIAGE_API_KEYS", TR_CFG_STR, "", GW_CFG(api_keys), 0, 0, NULL,
	 "comma-separated bootstrap API keys (role admin; 24+ characters off loopback); "
	 "empty: development key secret123, loopback only"},
	{"TRIAGE_STORE_URL", TR_CFG_STR, PROTO_DEFAULT_STORE_URL, GW_CFG(store_url), 0, 0, NULL,
	 "the store's REQ/REP address"},
	{"TRIAGE_EVENTS_URL", TR_CFG_STR, PROTO_DEFAULT_EVENTS_URL, GW_CFG(events_url), 0, 0, NULL,
	 "the store's event PUB address"},
	{"TRIAGE_STORE_TIMEOUT_MS", TR_CFG_INT, "3000", GW_CFG(store_timeout_ms), 10, 600000, NULL,
	 "how long to wait for the store before answering 503"},
	{"TRIAGE_READY_TIMEOUT_MS", TR_CFG_INT, "1000", GW_CFG(ready_timeout_ms), 10, 60000, NULL,
	 "how long /readyz waits for the store"},
	{"TRIAGE_STORE_MAX_INFLIGHT", TR_CFG_INT, "1024", GW_CFG(store_max_inflight), 1, 65536, NULL,
	 "store requests in flight at once (more are answered 503)"},
	{"TRIAGE_SUBMIT_BATCH", TR_CFG_INT, "32", GW_CFG(submit_batch), 1, PROTO_BATCH_MAX, NULL,
	 "most submits sent to the store in one request (those waiting at that moment; 1: one "
	 "each)"},
	{"TRIAGE_HTTP_THREADS", TR_CFG_INT, "2", GW_CFG(http_threads), 1, 64, NULL,
	 "HTTP worker threads"},
	{"TRIAGE_HTTP_MAX_CONNS", TR_CFG_INT, "1000", GW_CFG(http_max_conns), 4, 100000, NULL,
	 "concurrent HTTP connections"},
	{"TRIAGE_MAX_BODY", TR_CFG_INT, "65536", GW_CFG(max_body), 1024, 1048576, NULL,
	 "largest request body in bytes (413 beyond)"},
	{"TRIAGE_WEB_DIR", TR_CFG_STR, TRIAGE_DEFAULT_WEB_DIR, GW_CFG(web_dir), 0, 0, NULL,
	 "directory of the dashboard's static files"},
	{"TRIAGE_SSE_HEARTBEAT_MS", TR_CFG_INT, "15000", GW_CFG(sse_heartbeat_ms), 50, 3600000, NULL,
	 "interval of the comment line that keeps idle event streams open"},
	{"TRIAGE_SSE_MAX_STREAMS", TR_CFG_INT, "256", GW_CFG(sse_max_streams), 1, 10000, NULL,
	 "concurrent /events streams (503 beyond)"},
	{"TRIAGE_SSE_QUEUE", TR_CFG_INT, "256", GW_CFG(sse_queue), 4, 65536, NULL,
	 "events queued per stream before it is told to resync"},
	{"TRIAGE_GATEWAY_ID", TR_CFG_STR, "", GW_CFG(gateway_id), 0, 0, NULL,
	 "this gateway's name in event streams (default: host:port)"},
	{"TRIAGE_KEY_CACHE_MS", TR_CFG_INT, "5000", GW_CFG(key_cache_ms), 0, 600000, NULL,
	 "how long a key the store confirmed is trusted before asking again (a revoked key "
	 "works at most this long)"},
	{"TRIAGE_RATE_PER_KEY", TR_CFG_INT, "1000", GW_CFG(rate_per_key), 0, 1000000, NULL,
	 "API requests per second per key, bursts of twice that (429 beyond; 0: off)"},
	{"TRIAGE_RATE_PER_ADDR", TR_CFG_INT, "1000", GW_CFG(rate_per_addr), 0, 1000000, NULL,
	 "API requests per second per client address, bursts of twice that (429 beyond; 0: off)"},
	{"TRIAGE_AUTH_FAILS_PER_MIN", TR_CFG_INT, "20", GW_CFG(auth_fails_per_min), 0, 100000, NULL,
	 "missing or unknown keys per client address per minute before it gets 429 (0: off)"},
	{"TRIAGE_HTTP_MAX_CONNS_PER_ADDR", TR_CFG_INT, "256", GW_CFG(http_max_conns_per_addr), 0,
	 100000, NULL, "concurrent HTTP connections per client address (0: no limit)"},
	{"TRIAGE_HTTP_HEADER_TIMEOUT_MS", TR_CFG_INT, "10000", GW_CFG(http_header_timeout_ms), 100,
	 600000, NULL, "time a connection has to send a whole request header (also idle keep-alive)"},
	{"TRIAGE_HTTP_BODY_TIMEOUT_MS", TR_CFG_INT, "30000", GW_CFG(http_body_timeout_ms), 100,
	 600000, NULL, "time a request has to send its whole body"},
	{"TRIAGE_STORE_MAX_PER_ADDR", TR_CFG_INT, "256", GW_CFG(store_max_per_addr), 1, 65536, NULL,
	 "store requests in flight per client address (429 beyond)"},
	{"TRIAGE_LOG_LEVEL", TR_CFG_ENUM, "info", GW_CFG(log_level), 0, 0, "debug|info|warn|error",
	 "log threshold"},
	{"TRIAGE_LOG_FORMAT", TR_CFG_ENUM, "text", GW_CFG(log_format), 0, 0, "text|json",
	 "log lines as text, or one JSON object per line (time, level, service, incident, msg)"},
	{"TRIAGE_TLS_CA", TR_CFG_STR, "", GW_CFG(tls_ca), 0, 0, NULL,
	 "PEM file of the private CA that signs every service's certificate (tls+tcp:// addresses)"},
	{"TRIAGE_TLS_CERT", TR_CFG_STR, "", GW_CFG(tls_cert), 0, 0, NULL,
	 "PEM file of this process's certificate, signed by TRIAGE_TLS_CA"},
	{"TRIAGE_TLS_KEY", TR_CFG_STR, "", GW_CFG(tls_key), 0, 0, NULL,
	 "PEM file of this process's private key"},
	{"TRIAGE_TLS_SERVER_NAME", TR_CFG_STR, "triage-store", GW_CFG(tls_server_name), 0, 0, NULL,
	 "the name the store's certificate must carry (checked when dialing tls+tcp://)"},
};

const size_t gw_config_nitems = sizeof gw_config_items / sizeof gw_config_items[0];

bool gw_addr_parse(const char *host, long port, struct sockaddr_storage *addr, socklen_t *addrlen,
		   bool *loopback)
{
	struct in_addr a4;
	struct in6_addr a6;
	memset(addr, 0, sizeof *addr);
	if (port < 0 || port > 65535)
		return false;
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &a4) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)addr;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr = a4;
		*addrlen = sizeof *sin;
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = a6;
		*addrlen = sizeof *sin6;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6) ||
			    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
		return true;
	}
	return false;
}

int gw_config_load(gw_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	int rc = tr_config_load(gw_config_items, gw_config_nitems, cfg, err, errlen);
	if (rc != TR_OK)
		return rc;
	if (!gw_addr_parse(cfg->http_addr, cfg->http_port, &cfg->addr, &cfg->addrlen,
			   &cfg->loopback)) {
		snprintf(err, errlen, "TRIAGE_HTTP_ADDR: '%s' is not an IPv4/IPv6 address",
			 cfg->http_addr);
		gw_config_free(cfg);
		return TR_ERR_INVALID;
	}
	if (!*cfg->web_dir) {
		snprintf(err, errlen, "TRIAGE_WEB_DIR: must not be empty");
		gw_config_free(cfg);
		return TR_ERR_INVALID;
	}
	return TR_OK;
}

void gw_config_free(gw_config *cfg)
{
	tr_config_free(gw_config_items, gw_config_nitems, cfg);
}
