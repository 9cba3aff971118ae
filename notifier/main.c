/* triage-notifier: delivers notifications (webhooks, Slack-compatible) from the outbox
 * the store writes; several may run. main() only parses, builds, runs and tears down. */
#include <curl/curl.h>
#include <stdio.h>

#include "nt_config.h"
#include "nt_worker.h"
#include "tr_log.h"
#include "tr_signal.h"

static const char summary[] =
	"Notification sender: claims due rows of the notification outbox in PostgreSQL\n"
	"(FOR UPDATE SKIP LOCKED, under a lease), posts them to webhook and Slack-compatible\n"
	"channels, retries with backoff and records the outcome. Several may run.";

int main(int argc, char **argv)
{
	if (tr_config_wants_help(argc, argv)) {
		tr_config_help(stdout, "triage-notifier", summary, nt_config_items, nt_config_nitems);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "triage-notifier: unknown argument '%s' (see --help)\n", argv[1]);
		return 2;
	}
	tr_signal_block();
	nt_config cfg;
	char err[256];
	if (nt_config_load(&cfg, err, sizeof err) != 0) {
		fprintf(stderr, "triage-notifier: %s\n", err);
		return 2;
	}
	tr_log_level level = TR_LOG_INFO;
	tr_log_level_parse(cfg.log_level, &level);
	tr_log_init("notifier", level);
	tr_log_format log_format = TR_LOG_TEXT;
	tr_log_format_parse(cfg.log_format, &log_format);
	tr_log_set_format(log_format);
	int code = 1;
	nt_workers *w = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tr_error("curl_global_init failed");
		goto out;
	}
	if (nt_workers_start(&cfg, &w) != 0)
		goto out_curl;
	tr_info("notifier %s started: %ld workers, lease %ld ms, up to %ld attempts",
		cfg.notifier_id, cfg.workers, cfg.lease_ms, cfg.max_attempts);
	int sig;
	while ((sig = tr_signal_wait(-1)) == 0)
		;
	tr_info("signal %d: stopping", sig);
	nt_workers_stop(w);
	tr_info("stopped");
	code = 0;
out_curl:
	curl_global_cleanup();
out:
	nt_config_free(&cfg);
	return code;
}
