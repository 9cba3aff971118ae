/* triage-store: the only process that talks to PostgreSQL. Configuration, migrations,
 * then the REP server, group-commit writers, readers, dispatcher and results threads;
 * an ordered shutdown on SIGINT/SIGTERM.
 *
 * DESIGN (threads; each database thread owns one PGconn):
 *   main        config, migrations, waits for a signal, stops everything in order
 *   nng aio     REP contexts (store_rep.c): decode, hand over, encode and send replies
 *   writer xN   group commit of SUBMITs (store_ingest.c), TRIAGE_INGEST_WRITERS
 *   alerts      group commit of ALERTS deliveries (store_alerts.c), one thread
 *   reader xN   QUERYs: reads, actions, stats, settings (store_query.c), TRIAGE_READERS
 *   dispatcher  jobs within enricher credits; lease expiry sweep (store_dispatch.c)
 *   results     results and heartbeats from enrichers (store_results.c)
 *   retention   deletes old resolved incidents, when configured (store_retention.c)
 *   rep closer  at shutdown only: closes the REP socket, waited for at most
 *               STORE_REP_CLOSE_MS (store_rep_close_bounded, below)
 *   trainer     rebuilds the built-in model when responder labels change (store_train.c)
 *   analyze     ANALYZEs incidents when it has doubled: cached plans follow its growth
 *               (store_analyze.c)
 *   events sync PROTO_EVENTS_SYNC every PROTO_EVENTS_SYNC_MS (store_events.c)
 * Hand-over: mutex+condvar queues (calls), a wake-up condvar (dispatcher), a mutex-
 * protected enricher table (store_enrichers.c) and a mutex-protected PUB socket
 * (store_events.c). Shutdown: stop handing calls over, drain writers and readers
 * (every held call is answered), close REP, stop results, dispatcher, events; those
 * last steps get STORE_REST_CLOSE_MS, then the process exits 0 with a warning. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "proto_tls.h"
#include "proto_guard.h"
#include "store_analyze.h"
#include "store_config.h"
#include "store_db.h"
#include "store_dispatch.h"
#include "store_enrichers.h"
#include "store_events.h"
#include "store_ingest.h"
#include "store_migrate.h"
#include "store_query.h"
#include "store_train.h"
#include "store_rep.h"
#include "store_results.h"
#include "store_retention.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_signal.h"
#include "tr_time.h"

#define STORE_MIGRATE_TIMEOUT_MS (30L * 60 * 1000)

/* Applies the migrations, waiting for PostgreSQL if it is not up yet. Returns TR_OK,
 * an error, or TR_ERR_UNAVAILABLE if a signal asked us to stop while waiting. */
static int store_prepare_db(const store_config *cfg)
{
	/* migrations may take long on a big table: their own generous timeout */
	store_db *db = store_db_new(cfg->database_url, STORE_MIGRATE_TIMEOUT_MS, "migrate",
				    STORE_DB_DURABLE);
	if (!db)
		return TR_ERR_NOMEM;
	int rc;
	long wait_ms = 200;
	for (;;) {
		rc = store_db_ensure(db);
		if (rc == TR_OK)
			rc = store_migrate(db, cfg->sql_dir);
		if (rc != TR_ERR_UNAVAILABLE)
			break;
		tr_warn("waiting for PostgreSQL (%s)", store_db_errmsg(db));
		if (tr_signal_wait((int)wait_ms) != 0)
			break;
		wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
	}
	store_db_free(db);
	return rc;
}

/* nng 1.5.2 can fail to finish closing the REP socket: seen once in a hundred or so
 * stops under load, after a gateway vanished with requests outstanding while the store
 * was frozen (root cause in nng open). Every request held was answered and committed
 * before this step, so the close runs on a thread of its own and the stop goes on after
 * STORE_REP_CLOSE_MS, leaving that socket to the process's exit, with a warning. */
#define STORE_REP_CLOSE_MS 3000
/* what closing results, jobs and events may take once REP is closed (main, below);
 * with the steps before it a stop stays within a supervisor's 10 s grace */
#define STORE_REST_CLOSE_MS 5000

typedef struct {
	store_rep *rep;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	atomic_int refs; /* the closing thread's and the waiter's */
} store_rep_closer;

static void store_rep_closer_unref(store_rep_closer *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void *store_rep_closer_main(void *arg)
{
	store_rep_closer *c = arg;
	store_rep_close(c->rep);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	store_rep_closer_unref(c);
	return NULL;
}

static void store_rep_close_bounded(store_rep *rep)
{
	pthread_t thread;
	store_rep_closer *c = rep ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		store_rep_close(rep);
		return;
	}
	c->rep = rep;
	atomic_init(&c->refs, 2);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&thread, NULL, store_rep_closer_main, c) != 0) {
		store_rep_close(rep);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STORE_REP_CLOSE_MS / 1000;
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
		;
	bool done = c->done;
	pthread_mutex_unlock(&c->mu);
	if (done) {
		pthread_join(thread, NULL);
	} else {
		tr_warn("stopping: nng did not finish closing the request socket in %d ms; "
			"leaving it to the exit (everything held was answered)", STORE_REP_CLOSE_MS);
		pthread_detach(thread);
	}
	store_rep_closer_unref(c);
}

/* Logs how long the shutdown step just finished took; *t is when it began. */
static void store_stop_step(const char *what, int64_t *t)
{
	int64_t now = tr_mono_ms();
	tr_info("stopping: %s done in %lld ms", what, (long long)(now - *t));
	*t = now;
}

int main(int argc, char **argv)
{
	store_config cfg;
	char err[512];
	int status = 1;
	store_enrichers *enrichers = NULL;
	store_events *events = NULL;
	store_dispatch *dispatch = NULL;
	store_query *query = NULL;
	store_ingest *ingest = NULL;
	store_results *results = NULL;
	store_retention *retention = NULL;
	store_rep *rep = NULL;
	store_train *train = NULL;
	store_analyze *analyze = NULL;
	int64_t stop_ms;

	tr_signal_block();
	if (tr_config_wants_help(argc, argv)) {
		tr_config_help(stdout, "triage-store",
			       "Stores incidents in PostgreSQL, answers the gateways, dispatches "
			       "triage jobs to enrichers and applies their results.",
			       store_cfg_items, store_cfg_nitems);
		return 0;
	}
	if (store_config_load(&cfg, err, sizeof(err)) != TR_OK) {
		fprintf(stderr, "triage-store: %s\n", err);
		return 2;
	}
	tr_log_level level = TR_LOG_INFO;
	tr_log_level_parse(cfg.log_level, &level);
	tr_log_init("store", level);
	tr_log_format log_format = TR_LOG_TEXT;
	tr_log_format_parse(cfg.log_format, &log_format);
	tr_log_set_format(log_format);
	proto_tls_files tls = {cfg.tls_ca, cfg.tls_cert, cfg.tls_key, NULL};
	if (proto_tls_configure(&tls, err, sizeof err) != TR_OK) {
		fprintf(stderr, "triage-store: %s\n", err);
		store_config_free(&cfg);
		return 2;
	}
	tr_info("starting as %s (group commit %s, batch max %ld)", cfg.store_id,
		cfg.group_commit ? "on" : "off", cfg.batch_max);

	/* PUB first: gateways that dial while the migrations run are connected before the
	 * first event (a late subscriber misses events) */
	if (store_events_open(cfg.events_url, &events) != TR_OK) {
		tr_error("cannot listen for events on %s", cfg.events_url);
		goto out;
	}
	int rc = store_prepare_db(&cfg);
	if (rc != TR_OK) {
		if (rc == TR_ERR_UNAVAILABLE)
			status = 0; /* asked to stop while waiting for the database */
		else
			tr_error("cannot prepare the database: %s", tr_strerror(rc));
		goto out;
	}
	enrichers = store_enrichers_new(cfg.enricher_expire_ms);
	if (!enrichers)
		goto out;
	if (store_dispatch_start(&cfg, events, enrichers, &dispatch) != TR_OK ||
	    store_query_start(&cfg, events, dispatch, enrichers, &query) != TR_OK ||
	    store_ingest_start(&cfg, events, dispatch, &ingest) != TR_OK ||
	    store_results_start(&cfg, events, enrichers, dispatch, &results) != TR_OK ||
	    store_rep_start(cfg.store_url, cfg.rep_contexts, ingest, query, &rep) != TR_OK ||
	    store_train_start(&cfg, &train) != TR_OK ||
	    store_analyze_start(&cfg, &analyze) != TR_OK ||
	    store_retention_start(&cfg, &retention) != TR_OK) {
		tr_error("cannot start: see the errors above");
		goto out;
	}
	tr_info("ready: requests on %s, events on %s, jobs on %s, results on %s", cfg.store_url,
		cfg.events_url, cfg.jobs_url, cfg.results_url);
	int sig = tr_signal_wait(-1);
	tr_info("signal %d: stopping", sig);
	status = 0;
out:
	/* each step's time is logged: a stop must finish well within a supervisor's grace */
	stop_ms = tr_mono_ms();
	/* no listener is reopened while the sockets close, and none is left for nng_close()
	 * to wait on (proto_guard.h) */
	proto_guard_close_listeners();
	/* in order: no new requests; answer what is held; then the rest */
	if (rep)
		store_rep_quiesce(rep);
	store_stop_step("guard, quiesce", &stop_ms);
	store_ingest_stop(ingest);
	store_stop_step("ingest writers", &stop_ms);
	store_query_stop(query);
	store_stop_step("query readers", &stop_ms);
	store_rep_close_bounded(rep);
	store_stop_step("rep", &stop_ms);
	/* every request held was answered: what is left (results, jobs, events) is owned
	 * elsewhere too (enrichers keep results until taken, stale rows are re-published),
	 * so closing it is bounded: nng 1.5.2 was seen never to return from closing a PULL */
	if (status == 0)
		tr_signal_exit_deadline(STORE_REST_CLOSE_MS, "closing results, jobs and events");
	store_retention_stop(retention);
	store_stop_step("retention", &stop_ms);
	store_results_stop(results);
	store_stop_step("results", &stop_ms);
	store_dispatch_stop(dispatch);
	store_stop_step("dispatch", &stop_ms);
	store_train_stop(train);
	store_stop_step("trainer", &stop_ms);
	store_analyze_stop(analyze);
	store_stop_step("analyze", &stop_ms);
	store_events_close(events);
	store_enrichers_free(enrichers);
	proto_tls_shutdown();
	tr_info("stopped");
	store_config_free(&cfg);
	return status;
}
