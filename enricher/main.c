/* triage-enricher: pulls triage jobs from the store, runs the configured backend
 * (Ollama, OpenAI-compatible, built-in rules), pushes results back; or, with --once,
 * triages one incident from stdin. main() only parses, builds, runs and tears down. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "enr_backend.h"
#include "enr_config.h"
#include "enr_worker.h"
#include "oneshot.h"
#include "proto_guard.h"
#include "proto_tls.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_signal.h"

static const char summary[] =
	"Triage worker: pulls jobs from the store, calls an LLM (Ollama or OpenAI-compatible)\n"
	"or the built-in rules, and pushes the results back.\n"
	"  --once   triage one incident given as JSON on stdin and print the triage as JSON\n"
	"           ({\"title\",\"description\",\"source\",\"service\",\"labels\"}); exit 0 on a\n"
	"           triage, 1 on a backend failure, 2 on invalid input or configuration.";

int main(int argc, char **argv)
{
	bool once = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			once = true;
		} else if (strcmp(argv[i], "-h") != 0 && strcmp(argv[i], "--help") != 0) {
			fprintf(stderr, "triage-enricher: unknown argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (tr_config_wants_help(argc, argv)) {
		tr_config_help(stdout, "triage-enricher [--once]", summary, enr_config_items,
			       enr_config_nitems);
		return 0;
	}
	/* The service blocks the stop signals before any thread exists; --once keeps the
	 * default actions so Ctrl-C ends it. */
	if (!once)
		tr_signal_block();

	enr_config cfg;
	char err[256];
	if (enr_config_load(&cfg, err, sizeof err) != 0) {
		fprintf(stderr, "triage-enricher: %s\n", err);
		return 2;
	}
	tr_log_level level = TR_LOG_INFO;
	tr_log_level_parse(cfg.log_level, &level);
	tr_log_init("enricher", level);
	tr_log_format log_format = TR_LOG_TEXT;
	tr_log_format_parse(cfg.log_format, &log_format);
	tr_log_set_format(log_format);
	proto_tls_files tls = {cfg.tls_ca, cfg.tls_cert, cfg.tls_key, cfg.tls_server_name};
	char tls_err[256];
	if (proto_tls_configure(&tls, tls_err, sizeof tls_err) != TR_OK) {
		fprintf(stderr, "triage-enricher: %s\n", tls_err);
		enr_config_free(&cfg);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tr_error("curl_global_init failed");
		enr_config_free(&cfg);
		return 1;
	}

	int code;
	llm_http *h = llm_http_new(NULL);
	enr_backend_kind kind = enr_backend_choose(&cfg, h);
	tr_info("backend %s (configured %s), default model %s, fallback %s%s", enr_backend_name(kind),
		cfg.backend, cfg.model, cfg.fallback,
		kind == ENR_BACKEND_OPENAI && *cfg.openai_key ? ", bearer key set" : "");
	if (once) {
		enr_backend b = {.kind = kind, .cfg = &cfg, .abort_flag = NULL};
		code = enr_oneshot(&b, h, stdin, stdout);
	} else {
		llm_http_free(h);
		h = NULL;
		code = enr_worker_run(&cfg, kind);
	}
	llm_http_free(h);
	curl_global_cleanup();
	proto_guard_stop(); /* the dialers' guard thread (proto_guard.h) */
	proto_tls_shutdown();
	enr_config_free(&cfg);
	return code;
}
