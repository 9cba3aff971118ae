/* triage-gateway: the pipeline's front door (HTTP API, dashboard files, live events).
 * main: configuration, the parts in order, wait for a signal, stop them in reverse. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_auth.h"
#include "gw_config.h"
#include "gw_http.h"
#include "gw_sse.h"
#include "gw_store.h"
#include "proto_guard.h"
#include "proto_tls.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_signal.h"

int main(int argc, char **argv)
{
	gw_config cfg;
	gw_auth *auth = NULL;
	gw_store *store = NULL;
	gw_sse *sse = NULL;
	gw_http *http = NULL;
	char err[256], web_root[PATH_MAX], gateway_id[300];
	tr_log_level level = TR_LOG_INFO;
	int exit_code = 1;

	if (tr_config_wants_help(argc, argv)) {
		tr_config_help(stdout, "triage-gateway",
			       "The incident pipeline's HTTP front door: API, dashboard, live events.",
			       gw_config_items, gw_config_nitems);
		return 0;
	}
	tr_signal_block();
	if (gw_config_load(&cfg, err, sizeof err) != TR_OK) {
		fprintf(stderr, "triage-gateway: %s\n", err);
		return 2;
	}
	tr_log_level_parse(cfg.log_level, &level);
	tr_log_init("gateway", level);
	tr_log_format log_format = TR_LOG_TEXT;
	tr_log_format_parse(cfg.log_format, &log_format);
	tr_log_set_format(log_format);
	proto_tls_files tls = {cfg.tls_ca, cfg.tls_cert, cfg.tls_key, cfg.tls_server_name};
	if (proto_tls_configure(&tls, err, sizeof err) != TR_OK) {
		fprintf(stderr, "triage-gateway: %s\n", err);
		exit_code = 2;
		goto out;
	}

	if (gw_auth_create(cfg.api_keys, cfg.loopback, cfg.key_cache_ms, &auth, err, sizeof err) != TR_OK) {
		tr_error("refusing to start on %s: %s", cfg.http_addr, err);
		fprintf(stderr, "triage-gateway: refusing to start on %s: %s\n", cfg.http_addr, err);
		exit_code = 2;
		goto out;
	}
	if (!realpath(cfg.web_dir, web_root)) {
		tr_error("TRIAGE_WEB_DIR: %s is not a directory here", cfg.web_dir);
		exit_code = 2;
		goto out;
	}
	if (gw_store_open(cfg.store_url, (size_t)cfg.store_max_inflight, &store) != TR_OK)
		goto out;
	gw_store_set_batch(store, (size_t)cfg.submit_batch);
	if (*cfg.gateway_id) {
		snprintf(gateway_id, sizeof gateway_id, "%s", cfg.gateway_id);
	} else {
		char host[256] = "gateway";
		gethostname(host, sizeof host - 1);
		host[sizeof host - 1] = '\0';
		if (cfg.http_port)
			snprintf(gateway_id, sizeof gateway_id, "%s:%ld", host, cfg.http_port);
		else
			snprintf(gateway_id, sizeof gateway_id, "%s:pid%ld", host, (long)getpid());
	}
	gw_sse_opts sopts = {
		.events_url = cfg.events_url,
		.gateway_id = gateway_id,
		.heartbeat_ms = cfg.sse_heartbeat_ms,
		.max_streams = cfg.sse_max_streams,
		.queue_len = cfg.sse_queue,
	};
	if (gw_sse_start(&sopts, &sse) != TR_OK)
		goto out;
	gw_http_deps deps = {&cfg, auth, store, sse, web_root, gateway_id};
	if (gw_http_start(&deps, &http) != TR_OK)
		goto out;
	tr_info("listening on http://%s%s%s:%u/ (store %s, events %s, %ld threads%s)",
		cfg.addr.ss_family == AF_INET6 ? "[" : "", cfg.http_addr,
		cfg.addr.ss_family == AF_INET6 ? "]" : "", (unsigned)gw_http_port(http),
		cfg.store_url, cfg.events_url, cfg.http_threads,
		gw_auth_dev_mode(auth) ? ", development key" : "");

	int sig;
	while ((sig = tr_signal_wait(-1)) == 0 || sig == SIGHUP)
		;
	tr_info("signal %d: stopping", sig);
	exit_code = 0;

out:
	/* Stop in order: no new connections; end event streams; end store calls (parked
	 * requests answer 503); only then stop the daemon, with nothing suspended. */
	if (http)
		gw_http_quiesce(http);
	if (sse && !gw_sse_shutdown(sse, 3000))
		tr_warn("some event streams did not end in time");
	if (store)
		gw_store_shutdown(store);
	if (http && !gw_http_wait_unparked(http, 3000))
		tr_warn("some requests were still waiting for the store");
	/* every request is answered: what is left is closing libmicrohttpd's and nng's */
	if (http)
		tr_signal_exit_deadline(5000, "closing the HTTP daemon and the store sockets");
	gw_http_stop(http);
	gw_sse_stop(sse);
	gw_store_close(store);
	gw_auth_free(auth);
	proto_guard_stop(); /* the dialers' guard thread (proto_guard.h) */
	proto_tls_shutdown();
	/* No nng_fini(), like the other processes: nng 1.5.2's tears down its pipe table
	 * before draining its reaper, and a pipe still being reaped (the events link, closed
	 * just before) then locks a destroyed mutex: "panic: pthread_mutex_lock: Invalid
	 * argument", SIGABRT at a clean stop, seen beside another suite. What the reaper
	 * still holds at exit stays reachable from nng's globals: no leak is reported. */
	if (exit_code == 0)
		tr_info("stopped");
	gw_config_free(&cfg);
	return exit_code;
}
