/* enr_worker: jobs in, results and heartbeats out, on nng PULL/PUSH sockets, for one
 * store or several at once (TRIAGE_JOBS_URL and TRIAGE_RESULTS_URL lists, element i of
 * each being store i).
 *
 * DESIGN. Threads:
 *  - the main thread (enr_worker_run) owns start and stop: it dials the sockets,
 *    starts the workers, sends a heartbeat every TRIAGE_HEARTBEAT_MS while waiting for a
 *    signal, resends kept results when a store comes or goes (enr_links_poll), and on
 *    SIGTERM/SIGINT runs the shutdown below;
 *  - TRIAGE_ENRICHER_SLOTS worker threads, each owning one llm_http (one CURL handle,
 *    its connection kept alive). A worker calls recv on the shared PULL socket (one
 *    dialer per store) only when it is free, so a job is taken only by a free slot,
 *    from whichever store sent one; it triages the job, pushes the result and a
 *    heartbeat, and goes back to recv. Workers share the sockets (nng sockets are
 *    thread-safe), the read-only config and backend, the atomics below, and `beat_mu`,
 *    held only while a heartbeat is built and queued (never around a blocking call), so
 *    that heartbeats leave in the order their counts were read.
 * Results and heartbeats go out on one PUSH socket per store (a link, enr_links.c).
 * Each store sends jobs by credits (slots - busy from our heartbeats to it), and the
 * PULL socket buffers a single message, so jobs do not pile up in this process: the
 * free slots are split among the connected stores (their sum is the real free slots),
 * the odd ones rotating at each heartbeat, and each store hears as busy only its own
 * jobs. Ready messages carry this process's epoch, the jobs received so far and every
 * job held from any store (enr_held.c); one goes out each time a worker takes a job,
 * so the store binds it to us at once. A result goes to the store that sent the job
 * when it is connected, else to another (the database is shared; a late or duplicate
 * result is ignored by attempt). Results are kept for ENR_HELD_KEEP_MS and sent again
 * whenever a store's results pipe comes up (it restarted), and to a connected store
 * when one goes away: the main thread does the resend after the pipe callback (an nng
 * thread) has set a flag.
 * Shutdown: `stopping` rises and a heartbeat with slots 0 tells every store to send
 * no more; idle workers leave recv within RECV_POLL_MS; calls in flight may finish until
 * TRIAGE_SHUTDOWN_GRACE_MS, then `abort_calls` rises and they end at once as RELEASED.
 * After the workers are joined, any job already delivered to the socket is reported
 * RELEASED; once every message is written to the store (enr_links_flush), the process
 * exits 0. */
#include "enr_worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "enr_held.h"
#include "enr_links.h"
#include "proto_sock.h"
#include "prompt.h"
#include "rules.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_signal.h"
#include "tr_time.h"

#define RECV_POLL_MS 200   /* how often an idle worker looks at `stopping` */
#define SEND_TIMEOUT_MS 5000 /* a result waits this long for the store to be reachable */
#define DRAIN_POLL_MS 50
#define FLUSH_MS 5000 /* at exit, the longest wait for what was sent to be written */
#define RESEND_POLL_MS 100 /* how often the main thread looks at `resend` */

typedef struct {
	const enr_config *cfg;
	enr_backend backend;
	nng_socket jobs;    /* PULL, dialing every store's jobs URL */
	enr_links *links;   /* PUSH per store: results (blocking) and heartbeats (non-blocking) */
	atomic_bool stopping;
	atomic_bool abort_calls;
	atomic_int busy;
	atomic_int slots_live; /* workers able to take jobs (advertised as slots) */
	pthread_mutex_t mu; /* guards running, for the grace-period wait */
	pthread_cond_t cv;
	int running;
	enr_held *held;      /* jobs held and results kept (thread-safe) */
	int64_t epoch;       /* this process, in ready messages */
	pthread_mutex_t beat_mu; /* one heartbeat at a time (see DESIGN) */
} enr_worker;

/* A ready message to every connected store, the free slots split among them. */
static void heartbeat(enr_worker *w)
{
	char items[PROTO_HELD_MAX][PROTO_HELD_ITEM_MAX + 1];
	char *ptrs[PROTO_HELD_MAX];
	proto_heartbeat hb = {0};
	pthread_mutex_lock(&w->beat_mu);
	bool stopping = atomic_load(&w->stopping);
	long free_slots = (long)atomic_load(&w->slots_live) - atomic_load(&w->busy);
	hb.enricher_id = w->cfg->enricher_id;
	hb.backend = (char *)enr_backend_name(w->backend.kind);
	hb.epoch = w->epoch;
	hb.received = enr_held_received(w->held);
	hb.nheld = enr_held_list(w->held, tr_mono_ms(), items, ptrs, PROTO_HELD_MAX);
	hb.held = hb.nheld ? ptrs : NULL;
	enr_links_heartbeat(w->links, &hb, free_slots > 0 ? free_slots : 0, stopping);
	pthread_mutex_unlock(&w->beat_mu);
}

/* A job from link `origin` took a slot (+1) or gave it back (-1). */
static void slot_busy(enr_worker *w, size_t origin, int delta)
{
	atomic_fetch_add(&w->busy, delta);
	enr_links_busy(w->links, origin, delta);
}

static void send_result(enr_worker *w, const proto_job *job, size_t origin,
			const enr_outcome *o)
{
	proto_msg m = {.type = PROTO_RESULT};
	proto_result *r = &m.u.result;
	const triage_result *t = &o->triage;
	char *actions[PROTO_ACTIONS_MAX];

	r->incident_id = job->incident_id;
	r->attempt = job->attempt;
	r->lease_token = job->lease_token;
	r->enricher_id = w->cfg->enricher_id;
	r->outcome = o->outcome;
	r->reason = o->reason[0] ? (char *)o->reason : NULL;
	r->detail = o->detail[0] ? (char *)o->detail : NULL;
	r->latency_ms = t->latency_ms;
	r->prompt_tokens = -1;
	r->completion_tokens = -1;
	if (o->outcome == PROTO_OUTCOME_TRIAGED) {
		r->summary = (char *)t->summary;
		r->severity = (char *)t->severity;
		r->category = (char *)t->category;
		for (size_t i = 0; i < t->nactions; i++)
			actions[i] = (char *)t->actions[i];
		r->actions = t->nactions ? actions : NULL;
		r->nactions = t->nactions;
		r->confidence = t->confidence;
		r->backend = (char *)t->backend;
		r->model = (char *)t->model;
		r->prompt_version = (char *)t->prompt_version;
		r->prompt_tokens = t->prompt_tokens;
		r->completion_tokens = t->completion_tokens;
		r->similar_used = t->nsimilar_used ? (int64_t *)t->similar_used : NULL;
		r->nsimilar_used = t->nsimilar_used;
	} else {
		r->backend = (char *)enr_backend_name(w->backend.kind);
	}
	void *buf = NULL;
	size_t len = 0;
	nng_msg *msg = NULL;
	int rc = proto_encode(&m, &buf, &len);
	if (rc == TR_OK && o->outcome != PROTO_OUTCOME_RELEASED) {
		/* kept until the store surely has it (a copy is sent) */
		void *copy = malloc(len);
		if (copy) {
			memcpy(copy, buf, len);
			enr_held_done(w->held, job->incident_id, job->attempt, copy, len, tr_mono_ms());
		}
	} else {
		enr_held_drop(w->held, job->incident_id, job->attempt);
	}
	/* built where every message nng 1.5.2 may drop at a pipe's close is (tests/lsan.supp) */
	if (rc == TR_OK)
		rc = proto_bytes_to_nng(buf, len, &msg);
	if (rc == TR_OK) {
		rc = enr_links_send(w->links, origin, msg);
		if (rc == TR_OK)
			msg = NULL;
	}
	if (msg)
		nng_msg_free(msg);
	free(buf);
	if (rc != TR_OK)
		tr_ierror(job->incident_id, "result of attempt %d not sent (%s); kept for %d s, "
			  "sent again when the store is back", job->attempt, tr_strerror(rc),
			  ENR_HELD_KEEP_MS / 1000);
}

static void release(enr_worker *w, const proto_job *job, size_t origin, const char *why)
{
	enr_outcome o;
	memset(&o, 0, sizeof o);
	o.outcome = PROTO_OUTCOME_RELEASED;
	snprintf(o.reason, sizeof o.reason, "%s", why);
	tr_iinfo(job->incident_id, "released attempt %d (%s)", job->attempt, why);
	send_result(w, job, origin, &o);
}

/* Handles one job and pushes its result. Returns true if the caller still has to
 * give back the slot (busy) and heartbeat; false if this function did. */
static bool handle_job(enr_worker *w, llm_http *h, const proto_job *job, size_t origin)
{
	if (atomic_load(&w->stopping)) {
		release(w, job, origin, "shutdown");
		return true;
	}
	if (job->pickup_deadline_ms && job->pickup_deadline_ms < tr_now_ms()) {
		/* it waited in our socket past the time the store gave us to report it: the
		 * store has dispatched it again, so calling now would be paid for twice */
		tr_iwarn(job->incident_id, "attempt %d taken after its pickup deadline", job->attempt);
		release(w, job, origin, "pickup_expired");
		return true;
	}
	if (job->lease_deadline_ms <= tr_now_ms()) {
		/* The store has given (or will give) this row to someone else: a result
		 * now would be stale, and a release is ignored unless it still matches. */
		tr_iwarn(job->incident_id, "attempt %d arrived after its lease passed", job->attempt);
		release(w, job, origin, "lease_expired");
		return true;
	}
	/* the job's similar incidents: all as the built-in model weighs them; the resolved
	 * ones as examples for a prompt (an open one a responder labelled is not one) */
	learn_neighbour neighbours[PROTO_SIMILAR_MAX];
	proto_similar examples[PROTO_SIMILAR_MAX];
	size_t nexamples = 0;
	for (size_t i = 0; i < job->nsimilar && i < PROTO_SIMILAR_MAX; i++) {
		neighbours[i].severity = learn_severity_index(job->similar[i].severity);
		neighbours[i].category = learn_category_index(job->similar[i].category);
		neighbours[i].human_labelled = job->similar[i].human_labelled;
		neighbours[i].score = job->similar[i].score;
		neighbours[i].incident_id = job->similar[i].incident_id;
		if (!job->similar[i].unresolved)
			examples[nexamples++] = job->similar[i];
	}
	triage_incident in = {
		.id = job->incident_id,
		.title = job->title,
		.description = job->description,
		.source = job->source,
		.service = job->service,
		.labels = job->labels,
		.nlabels = job->nlabels,
		.learned_version = job->learned_version,
		.similar = neighbours,
		.nsimilar = job->nsimilar,
		.examples = examples,
		.nexamples = nexamples,
	};
	enr_outcome o;
	enr_backend_run(&w->backend, h, &in, job->model, job->lease_deadline_ms, &o);
	/* The slot is free once the call is over: say so before the result, so the store
	 * can dispatch the next job while it commits this one. */
	slot_busy(w, origin, -1);
	heartbeat(w);
	if (o.outcome == PROTO_OUTCOME_TRIAGED)
		tr_iinfo(job->incident_id, "triaged attempt %d: %s/%s by %s%s model=%s in %lld ms",
			 job->attempt, o.triage.severity, o.triage.category, o.triage.backend,
			 o.fell_back ? " (fallback)" : "", o.triage.model,
			 (long long)o.triage.latency_ms);
	else
		tr_iinfo(job->incident_id, "attempt %d %s: %s (%s)", job->attempt,
			 proto_outcome_name(o.outcome), o.reason, o.detail);
	send_result(w, job, origin, &o);
	return false;
}

/* Receives one message from the job socket, and the link of the store that sent it.
 * Like proto_sock_recv (a malformed message is logged and dropped: TR_ERR_PROTO), but
 * the routine poll timeout stays quiet. */
static int recv_job(enr_worker *w, proto_msg *out, size_t *origin)
{
	nng_msg *msg = NULL;
	char err[200];
	memset(out, 0, sizeof *out);
	int rv = nng_recvmsg(w->jobs, &msg, 0);
	if (rv == NNG_ETIMEDOUT)
		return TR_ERR_TIMEOUT;
	if (rv != 0)
		return proto_nng_err(rv);
	*origin = enr_links_origin(w->links, msg);
	int rc = proto_msg_from_nng(msg, out, err, sizeof err);
	if (rc != TR_OK)
		tr_warn("dropped a malformed message of %zu bytes on the job socket: %s",
			nng_msg_len(msg), err);
	nng_msg_free(msg);
	return rc;
}

static void *worker_main(void *arg)
{
	enr_worker *w = arg;
	llm_http *h = NULL;

	if (w->backend.kind != ENR_BACKEND_RULES && w->backend.kind != ENR_BACKEND_MODEL && !(h = llm_http_new(&w->abort_calls))) {
		tr_error("worker: cannot create an HTTP client; this slot stays idle");
		goto out;
	}
	while (!atomic_load(&w->stopping)) {
		proto_msg m;
		size_t origin = 0;
		int rc = recv_job(w, &m, &origin);
		if (rc == TR_ERR_TIMEOUT || rc == TR_ERR_PROTO)
			continue; /* a malformed message was logged and dropped */
		if (rc != TR_OK) {
			tr_error("worker: receiving jobs failed (%s); slot stops", tr_strerror(rc));
			break;
		}
		if (m.type != PROTO_JOB) {
			tr_warn("worker: dropped a %s message on the job socket",
				proto_type_name(m.type));
			proto_msg_free(&m);
			continue;
		}
		slot_busy(w, origin, 1);
		enr_held_take(w->held, m.u.job.incident_id, m.u.job.attempt);
		heartbeat(w); /* the store learns at once that this job is ours */
		if (handle_job(w, h, &m.u.job, origin)) {
			slot_busy(w, origin, -1);
			heartbeat(w);
		}
		proto_msg_free(&m);
	}
out:
	llm_http_free(h);
	atomic_fetch_sub(&w->slots_live, 1);
	pthread_mutex_lock(&w->mu);
	w->running--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until no worker runs or until deadline (monotonic ms); true if none runs. */
static bool wait_workers(enr_worker *w, int64_t deadline_mono)
{
	pthread_mutex_lock(&w->mu);
	while (w->running > 0) {
		int64_t left = deadline_mono - tr_mono_ms();
		if (left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	bool done = w->running == 0;
	pthread_mutex_unlock(&w->mu);
	return done;
}

/* Reports every job already delivered to this process as RELEASED. */
static int drain(enr_worker *w)
{
	int n = 0;
	nng_socket_set_ms(w->jobs, NNG_OPT_RECVTIMEO, DRAIN_POLL_MS);
	for (;;) {
		proto_msg m;
		size_t origin = 0;
		int rc = recv_job(w, &m, &origin);
		if (rc == TR_ERR_PROTO)
			continue;
		if (rc != TR_OK)
			break;
		if (m.type == PROTO_JOB) {
			release(w, &m.u.job, origin, "shutdown");
			n++;
		}
		proto_msg_free(&m);
	}
	return n;
}

static int64_t new_epoch(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		v = (uint64_t)tr_now_ms() ^ ((uint64_t)tr_mono_ms() << 20);
	v &= INT64_MAX;
	return v ? (int64_t)v : 1;
}

int enr_worker_run(const enr_config *cfg, enr_backend_kind kind)
{
	int ret = 1;
	enr_worker w;
	pthread_t *threads = NULL;
	size_t started = 0;

	memset(&w, 0, sizeof w);
	w.cfg = cfg;
	w.backend = (enr_backend){.kind = kind, .cfg = cfg, .abort_flag = &w.abort_calls};
	w.jobs = (nng_socket)NNG_SOCKET_INITIALIZER;
	atomic_init(&w.stopping, false);
	atomic_init(&w.abort_calls, false);
	atomic_init(&w.busy, 0);
	atomic_init(&w.slots_live, 0);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	pthread_mutex_init(&w.beat_mu, NULL);
	w.epoch = new_epoch();
	if (!(w.held = enr_held_new((size_t)cfg->slots)))
		goto out;

	if (kind == ENR_BACKEND_MODEL &&
	    !(w.backend.models = enr_model_new(cfg->store_url, cfg->model_fetch_timeout_ms)))
		goto out;
	if (enr_links_open(cfg->jobs_url, cfg->results_url, SEND_TIMEOUT_MS, &w.links) != TR_OK)
		goto out;
	if (proto_sock_dial(PROTO_SOCK_PULL, cfg->jobs_url, &w.jobs) != TR_OK)
		goto out;
	if (proto_nng_err(nng_socket_set_ms(w.jobs, NNG_OPT_RECVTIMEO, RECV_POLL_MS)))
		goto out;
	if (!(threads = calloc((size_t)cfg->slots, sizeof *threads)))
		goto out;
	for (; started < (size_t)cfg->slots; started++) {
		pthread_mutex_lock(&w.mu);
		w.running++;
		pthread_mutex_unlock(&w.mu);
		atomic_fetch_add(&w.slots_live, 1);
		if (pthread_create(&threads[started], NULL, worker_main, &w) != 0) {
			atomic_fetch_sub(&w.slots_live, 1);
			pthread_mutex_lock(&w.mu);
			w.running--;
			pthread_mutex_unlock(&w.mu);
			tr_error("cannot start worker thread %zu", started + 1);
			atomic_store(&w.stopping, true);
			goto out;
		}
	}
	tr_info("enricher %s ready: backend %s, %ld slots, jobs %s, results %s",
		cfg->enricher_id, enr_backend_name(kind), cfg->slots, cfg->jobs_url,
		cfg->results_url);

	int64_t next_beat = tr_mono_ms();
	for (;;) {
		int64_t now = tr_mono_ms();
		if (enr_links_poll(w.links, w.held))
			next_beat = now; /* a store came or went, or a heartbeat was missed */
		if (now >= next_beat) {
			heartbeat(&w);
			next_beat = now + cfg->heartbeat_ms;
		}
		int64_t wait = next_beat - now > 0 ? next_beat - now : 0;
		int sig = tr_signal_wait((int)(wait < RESEND_POLL_MS ? wait : RESEND_POLL_MS));
		if (sig == SIGINT || sig == SIGTERM || sig == SIGQUIT) {
			tr_info("signal %d: stopping (in flight: %d)", sig, atomic_load(&w.busy));
			break;
		}
		if (sig)
			tr_info("signal %d ignored", sig);
	}
	atomic_store(&w.stopping, true);
	heartbeat(&w);
	if (!wait_workers(&w, tr_mono_ms() + cfg->grace_ms)) {
		tr_warn("grace period of %ld ms over: abandoning %d call(s) in flight",
			cfg->grace_ms, atomic_load(&w.busy));
		atomic_store(&w.abort_calls, true);
	}
	ret = 0;
out:
	atomic_store(&w.stopping, true);
	if (ret != 0)
		atomic_store(&w.abort_calls, true);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (ret == 0) {
		int n = drain(&w);
		if (n)
			tr_info("released %d job(s) not started", n);
		heartbeat(&w);
		/* closing drops what the sockets still queue: the releases and results */
		int left = enr_links_flush(w.links, tr_mono_ms() + FLUSH_MS);
		if (left > 0)
			tr_warn("%d message(s) to the store not written after %d ms: they are "
				"lost with this process (the store takes their jobs back)",
				left, FLUSH_MS);
		else if (left < 0)
			tr_warn("cannot tell whether the last messages to the store were "
				"written (nng statistics unavailable)");
	}
	free(threads);
	proto_sock_close(w.jobs);
	enr_links_free(w.links);
	enr_model_free(w.backend.models);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	pthread_mutex_destroy(&w.beat_mu);
	enr_held_free(w.held);
	tr_info("enricher %s stopped", cfg->enricher_id);
	return ret;
}
