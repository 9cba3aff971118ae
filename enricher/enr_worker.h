/* enr_worker: the enricher's service loop: pull jobs from the store, triage them on
 * TRIAGE_ENRICHER_SLOTS worker threads, push results and heartbeats back, and stop in
 * order on SIGTERM/SIGINT (finish or release what it holds). */
#ifndef ENR_WORKER_H
#define ENR_WORKER_H

#include "enr_backend.h"
#include "enr_config.h"

/* Runs until SIGINT, SIGTERM or SIGQUIT (which tr_signal_block() must have blocked
 * before this is called). Returns 0 after an orderly stop, 1 if the sockets or threads
 * could not be set up. cfg is borrowed for the duration. */
int enr_worker_run(const enr_config *cfg, enr_backend_kind kind);

#endif
