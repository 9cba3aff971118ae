/* gw_config: the gateway's configuration table (TRIAGE_* environment variables, printed
 * by --help) and the parsed listening address. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "tr_config.h"

typedef struct {
	char *http_addr;
	long http_port;
	char *api_keys;
	char *store_url;
	char *events_url;
	long store_timeout_ms;
	long ready_timeout_ms;
	long store_max_inflight;
	long submit_batch;
	long http_threads;
	long http_max_conns;
	long max_body;
	char *web_dir;
	long sse_heartbeat_ms;
	long sse_max_streams;
	long sse_queue;
	char *gateway_id;
	char *log_level;
	/* The front door's limits (gw_limit, gw_conn). */
	long key_cache_ms;
	long rate_per_key;
	long rate_per_addr;
	long auth_fails_per_min;
	long http_max_conns_per_addr;
	long http_header_timeout_ms;
	long http_body_timeout_ms;
	long store_max_per_addr;
	char *log_format;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *tls_server_name;

	/* Derived by gw_config_load. */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool loopback;
} gw_config;

extern const tr_cfg_item gw_config_items[];
extern const size_t gw_config_nitems;

/* Loads the table from the environment and parses the address. On failure writes a
 * message naming the variable to err and leaves nothing allocated. Free a loaded
 * config with gw_config_free. */
int gw_config_load(gw_config *cfg, char *err, size_t errlen);
void gw_config_free(gw_config *cfg);

/* Parses an IPv4/IPv6 literal or "localhost" with port into addr; *loopback is true
 * for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool gw_addr_parse(const char *host, long port, struct sockaddr_storage *addr, socklen_t *addrlen,
		   bool *loopback);

#endif
