/* tr_signal: a blocked signal set consumed with sigtimedwait, and the exit deadline of a
 * shutdown (one detached thread, started only when armed). */
#include "tr_signal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "tr_log.h"

static void tr_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void tr_signal_block(void)
{
	sigset_t set;
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	tr_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int tr_signal_wait(int timeout_ms)
{
	sigset_t set;
	tr_signal_set(&set);
	for (;;) {
		int sig;
		if (timeout_ms < 0) {
			if (sigwait(&set, &sig) == 0)
				return sig;
			continue;
		}
		struct timespec ts = {.tv_sec = timeout_ms / 1000,
				      .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		/* EINTR: try again */
	}
}

typedef struct {
	int ms;
	const char *what;
} tr_exit_deadline;

static void *tr_exit_deadline_main(void *arg)
{
	tr_exit_deadline d = *(tr_exit_deadline *)arg;
	free(arg);
	struct timespec ts = {d.ms / 1000, (long)(d.ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	tr_warn("stopping: %s did not finish in %d ms; exiting now (all work was already "
		"answered or handed back)", d.what, d.ms);
	_exit(0);
	return NULL;
}

void tr_signal_exit_deadline(int ms, const char *what)
{
	pthread_t thread;
	tr_exit_deadline *d = malloc(sizeof *d);
	if (!d)
		return;
	d->ms = ms;
	d->what = what;
	if (pthread_create(&thread, NULL, tr_exit_deadline_main, d) != 0) {
		free(d);
		return;
	}
	pthread_detach(thread);
}
