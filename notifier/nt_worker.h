/* nt_worker: the notifier's delivery threads. */
#ifndef NT_WORKER_H
#define NT_WORKER_H

#include "nt_config.h"

typedef struct nt_workers nt_workers;

/* Starts cfg->workers threads (cfg must outlive them). TR_OK or a tr_err. */
int nt_workers_start(const nt_config *cfg, nt_workers **out);

/* Asks every thread to stop (a transfer in progress is aborted and its row put back
 * as due at once), joins them and frees. */
void nt_workers_stop(nt_workers *w);

#endif
